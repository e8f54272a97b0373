/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known-answer vectors: QEMU's (NIST SP 800-38A AES ECB/CBC/CTR, IEEE 1619
 * AES-XTS, DES, 3DES, CAST5, Serpent, Twofish) and a few more from
 * independent implementations. Hex strings; iv NULL where the mode has none.
 */
#include "cipher-vectors.h"

const CipherVector cipher_vectors[] = {
    /* QEMU 7.2 tests/unit/test-crypto-cipher.c (ref: qmp-qom.md App. A) */
    { .path = "aes-ecb-128",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_ECB,
      .key = "2b7e151628aed2a6abf7158809cf4f3c",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
          "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4",
    },
    { .path = "aes-ecb-192",
      .alg = WD_CIPHER_ALG_AES_192, .mode = WD_CIPHER_MODE_ECB,
      .key = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef"
          "ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e",
    },
    { .path = "aes-ecb-256",
      .alg = WD_CIPHER_ALG_AES_256, .mode = WD_CIPHER_MODE_ECB,
      .key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
          "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7",
    },
    { .path = "aes-cbc-128",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_CBC,
      .key = "2b7e151628aed2a6abf7158809cf4f3c",
      .iv = "000102030405060708090a0b0c0d0e0f",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
          "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
    },
    { .path = "aes-cbc-192",
      .alg = WD_CIPHER_ALG_AES_192, .mode = WD_CIPHER_MODE_CBC,
      .key = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
      .iv = "000102030405060708090a0b0c0d0e0f",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
          "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
    },
    { .path = "aes-cbc-256",
      .alg = WD_CIPHER_ALG_AES_256, .mode = WD_CIPHER_MODE_CBC,
      .key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
      .iv = "000102030405060708090a0b0c0d0e0f",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
          "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
    },
    { .path = "des-ecb-56-one-block",
      .alg = WD_CIPHER_ALG_DES, .mode = WD_CIPHER_MODE_ECB,
      .key = "80c4a2e691d5b3f7",
      .plaintext = "70617373776f7264",
      .ciphertext = "73fa80b66134e403",
    },
    { .path = "des-cbc-56-one-block",
      .alg = WD_CIPHER_ALG_DES, .mode = WD_CIPHER_MODE_CBC,
      .key = "80c4a2e691d5b3f7",
      .iv = "0000000000000000",
      .plaintext = "70617373776f7264",
      .ciphertext = "73fa80b66134e403",
    },
    { .path = "des-ecb-56",
      .alg = WD_CIPHER_ALG_DES, .mode = WD_CIPHER_MODE_ECB,
      .key = "80c4a2e691d5b3f7",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "8f346aaf64eaf24040720d80648c52e7aefc616be53ab1a3d301e69d91e01838"
          "ffd29f1bb5596ad94ea2d8e6196b7f0930d8ed0bf2773af36dd82a6280c20926",
    },
    { .path = "3des-cbc",
      .alg = WD_CIPHER_ALG_3DES, .mode = WD_CIPHER_MODE_CBC,
      .key = "e9c0ff2e760b6424444d995a12d640c0eac284e81495dbe8",
      .iv = "7d3388930f93b242",
      .plaintext =
          "6f54206f614d796e532063656572737454206f6f4d206e612079655372637465"
          "20736f54206f614d796e532063656572737454206f6f4d206e61207965537263"
          "746520736f54206f614d796e532063656572737454206f6f4d206e6120796553"
          "7263746520736f54206f614d796e532063656572737454206f6f4d206e610a79",
      .ciphertext =
          "0e2db6973c5633f4671721c76e8ad54974b34905c51cd0ed12565c5396b6007d"
          "9048fcf58d2939cc8ad5351836234ed776d1da0c9467bb048bf2036ca8cfb6ea"
          "226447aa8f7513bf9fc2c3f0c956c57a71632e897b1e12cae25fafd8a4f8c97a"
          "d6f92131624445a6d6bc5ad32d5443cc9ddea570e942458a6bfab19113b0d919",
    },
    { .path = "3des-ecb",
      .alg = WD_CIPHER_ALG_3DES, .mode = WD_CIPHER_MODE_ECB,
      .key = "0123456789abcdef5555555555555555fedcba9876543210",
      .plaintext = "736f6d6564617461",
      .ciphertext = "18d748e563620572",
    },
    { .path = "3des-ctr",
      .alg = WD_CIPHER_ALG_3DES, .mode = WD_CIPHER_MODE_CTR,
      .key = "9cd6f39cb95a67005a67002dceeb2dceebb45172b451721f",
      .iv = "ffffffffffffffff",
      .plaintext =
          "05ec77fb42d559208b128669f05bcf5639ad349f66ea7dc448d3ba0db118e34a"
          "fe41285c278e11856cf75ec2553ca00b9265e970db4fd6b900b41fe649fd442f"
          "533a8d149863ca5dc1a833a70e9178ec77de42d5bc078b12e54cf05b22563980"
          "6b9f66c950c4af36ba0d947fe34add4128b31a8e11f843f75e21553c876e9265"
          "cc57dba235b900eb72e649d0442fb6198d14ff46ca5d24a8339a6d9178c377de"
          "a108bc07ee71e54cd75b22b51c806bf245c9503baf369960947fc64adda40fb3"
          "1aed74f8432a5e218813876ef158cc573ea2359c67eb72c549d0bb02b619e04b"
          "ff46295d248f169a6df45fc3aa3da108937aee71d84cd7be01b51ce74ef2452c"
          "503b82159960cb52c6a930a40f9679ed74df432abd048813fa4df15823573e81"
          "689c67ce51c5ac37bb02957ce04bd24629b01b8f16f940f45f26aa3d846f937a"
          "cd54d8a30abe01e873e74ed1452cb71e8215fc47cb5225a9309b629679c074df"
          "a609bd04ef76fa4dd458238a1d8168f35ace5138ac379e61957cc74bd2a50cb0"
          "1be275f9402b5f268910846ff659cd543fa30a9d64e873da4ed1b803b71ee148"
          "fc472e52258c179b62f55cc0ab32a609907bef76d94dd4bf068a1de44ff35a2d"
          "5138836a9e61c853c7ae31a50c977ee275dc402bb2058910fb42f65920543f86"
          "699d64cf56daad34b803ea7de148d347",
      .ciphertext =
          "07c20820721f49ef19cd6f3253052215a2852bdb85d2d8b9dd0d1b45cb6911d4"
          "eabeb2455d0caebea0c127ac659f537eafc21bb5b86d360c25c0f86d0b2901da"
          "1378dc89121243faf612ef8d87627883e2be41204c6d351bd10c30cfe2de2b03"
          "bf4573d4e55995d1b39b276297bdde7fa4d23980aa5023f074883da86a18793b"
          "c4966c8d2240926ed6ad2a1fde63c0e707f72df7b5f3f0cc017c2a9bc210caaa"
          "fd2b3fc5f3f6fc9b45db53e45bf3c97b8e52ffc802b8ac9da10039da3d2d0e01"
          "097d8d5ebe53b9b08ee7e2966ab278eade238ba5fa5ce3dabf8e316a55d16ab2"
          "b5466fa5f0eeba1f9f98b0664fd03fa9df5f58c4f4ff755c403a097e6e1c97d4"
          "cce7e771cf0b150871fa0797cde6ca1d14280ccf99137af1ebfafa9207de1da1"
          "d33669fe514d9f2e83374f1f4830ed044da4ef3aca76f41c418f6337782f86a6"
          "ef417ed2af88ab675271c38ef8269372aad60ee70b46b13ab408a9a8a0cf200c"
          "52bc8b0556b2bc319b74b92929969a50dc45dc1aeb0c64d4d3057e5955c3f490"
          "c2abf89b8adacea1c3f4ad77dd44c8aca3f1c9d2195cb0caa234c1f76cfdac65"
          "32dc48c4f2006b77f17d76acc031632aa53a62c891b10365cb43d106dfc367bc"
          "dce0cd35ce4965a0527ba70d07a91bb0407772c2ea0e3a7846b991b6e73d5142"
          "fd51b0c62c6313785ceefccfc4700034",
    },
    { .path = "cast5-128",
      .alg = WD_CIPHER_ALG_CAST5_128, .mode = WD_CIPHER_MODE_ECB,
      .key = "0123456712345678234567893456789A",
      .plaintext = "0123456789abcdef",
      .ciphertext = "238b4fe5847e44b2",
    },
    { .path = "serpent-128",
      .alg = WD_CIPHER_ALG_SERPENT_128, .mode = WD_CIPHER_MODE_ECB,
      .key = "00000000000000000000000000000000",
      .plaintext = "d29d576fcea3a3a7ed9099f29273d78e",
      .ciphertext = "b2288b968ae8b08648d1ce9606fd992d",
    },
    { .path = "serpent-192",
      .alg = WD_CIPHER_ALG_SERPENT_192, .mode = WD_CIPHER_MODE_ECB,
      .key = "000000000000000000000000000000000000000000000000",
      .plaintext = "d29d576fceaba3a7ed9899f2927bd78e",
      .ciphertext = "130e353e1037c22405e8faefb2c3c3e9",
    },
    { .path = "serpent-256a",
      .alg = WD_CIPHER_ALG_SERPENT_256, .mode = WD_CIPHER_MODE_ECB,
      .key = "0000000000000000000000000000000000000000000000000000000000000000",
      .plaintext = "d095576fcea3e3a7ed98d9f29073d78e",
      .ciphertext = "b90ee5862de69168f2bdd5125b45472b",
    },
    { .path = "serpent-256b",
      .alg = WD_CIPHER_ALG_SERPENT_256, .mode = WD_CIPHER_MODE_ECB,
      .key = "0000000000000000000000000000000000000000000000000000000000000000",
      .plaintext = "00000000010000000200000003000000",
      .ciphertext = "2061a42782bd52ec691ec383b03ba77c",
    },
    { .path = "twofish-128",
      .alg = WD_CIPHER_ALG_TWOFISH_128, .mode = WD_CIPHER_MODE_ECB,
      .key = "d491db16e7b1c39e86cb086b789f5419",
      .plaintext = "019f9809de1711858faac3a3ba20fbc3",
      .ciphertext = "6363977de839486297e661c6c9d668eb",
    },
    { .path = "twofish-192",
      .alg = WD_CIPHER_ALG_TWOFISH_192, .mode = WD_CIPHER_MODE_ECB,
      .key = "88b2b2706b105e36b446bb6d731a1e88efa71f788965bd44",
      .plaintext = "39da69d6ba4997d585b6dc073ca341b2",
      .ciphertext = "182b02d81497ea45f9daacdc29193a65",
    },
    { .path = "twofish-256",
      .alg = WD_CIPHER_ALG_TWOFISH_256, .mode = WD_CIPHER_MODE_ECB,
      .key = "d43bb7556ea32e46f2a282b7d45b4e0d57ff739d4dc92c1bd7fc01700cc8216f",
      .plaintext = "90afe91bb288544f2c32dc239b2635e6",
      .ciphertext = "6cb4561c40bf0a9705931cb6d408e7fa",
    },
    { .path = "aes-xts-128-1",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_XTS,
      .key = "0000000000000000000000000000000000000000000000000000000000000000",
      .iv = "00000000000000000000000000000000",
      .plaintext =
          "0000000000000000000000000000000000000000000000000000000000000000",
      .ciphertext =
          "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e",
    },
    { .path = "aes-xts-128-2",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_XTS,
      .key = "1111111111111111111111111111111122222222222222222222222222222222",
      .iv = "33333333330000000000000000000000",
      .plaintext =
          "4444444444444444444444444444444444444444444444444444444444444444",
      .ciphertext =
          "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0",
    },
    { .path = "aes-xts-128-3",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_XTS,
      .key = "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
      .iv = "9a785634120000000000000000000000",
      .plaintext =
          "4444444444444444444444444444444444444444444444444444444444444444",
      .ciphertext =
          "b01f86f8edc1863706fa8a4253e34f28af319de38334870f4dd1f94cbe9832f1",
    },
    { .path = "aes-xts-128-4",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_XTS,
      .key = "2718281828459045235360287471352631415926535897932384626433832795",
      .iv = "00000000000000000000000000000000",
      .plaintext =
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
          "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
          "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
          "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
          "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
          "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
          "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
          "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
          "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
          "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
          "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
          "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
          "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
          "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
          "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      .ciphertext =
          "27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c"
          "c78cf7f5e543445f8333d8fa7f56000005279fa5d8b5e4ad40e736ddb4d35412"
          "328063fd2aab53e5ea1e0a9f332500a5df9487d07a5c92cc512c8866c7e860ce"
          "93fdf166a24912b422976146ae20ce846bb7dc9ba94a767aaef20c0d61ad0265"
          "5ea92dc4c4e41a8952c651d33174be51a10c421110e6d81588ede82103a252d8"
          "a750e8768defffed9122810aaeb99f9172af82b604dc4b8e51bcb08235a6f434"
          "1332e4ca60482a4ba1a03b3e65008fc5da76b70bf1690db4eae29c5f1badd03c"
          "5ccf2a55d705ddcd86d449511ceb7ec30bf12b1fa35b913f9f747a8afd1b130e"
          "94bff94effd01a91735ca1726acd0b197c4e5b03393697e126826fb6bbde8ecc"
          "1e08298516e2c9ed03ff3c1b7860f6de76d4cecd94c8119855ef5297ca67e9f3"
          "e7ff72b1e99785ca0a7e7720c5b36dc6d72cac9574c8cbbc2f801e23e56fd344"
          "b07f22154beba0f08ce8891e643ed995c94d9a69c9f1b5f499027a78572aeebd"
          "74d20cc39881c213ee770b1010e4bea718846977ae119f7a023ab58cca0ad752"
          "afe656bb3c17256a9f6e9bf19fdd5a38fc82bbe872c5539edb609ef4f79c203e"
          "bb140f2e583cb2ad15b4aa5b655016a8449277dbd477ef2c8d6c017db738b18d"
          "eb4a427d1923ce3ff262735779a418f20a282df920147beabe421ee5319d0568",
    },
    { .path = "aes-ctr-128",
      .alg = WD_CIPHER_ALG_AES_128, .mode = WD_CIPHER_MODE_CTR,
      .key = "2b7e151628aed2a6abf7158809cf4f3c",
      .iv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
          "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
    },
    { .path = "aes-ctr-192",
      .alg = WD_CIPHER_ALG_AES_192, .mode = WD_CIPHER_MODE_CTR,
      .key = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
      .iv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94"
          "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050",
    },
    { .path = "aes-ctr-256",
      .alg = WD_CIPHER_ALG_AES_256, .mode = WD_CIPHER_MODE_CTR,
      .key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
      .iv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
    },
    /*
     * Not in QEMU's set.  The all-zero DES key is weak (nettle flags it)
     * but is what a VNC empty password gives; ciphertext from OpenSSL.
     */
    { .path = "des-ecb-56-weak-key",
      .alg = WD_CIPHER_ALG_DES, .mode = WD_CIPHER_MODE_ECB,
      .key = "0000000000000000",
      .plaintext = "0000000000000000",
      .ciphertext = "8ca64de9c1b123a7",
    },
    /* SP 800-38A plaintext; ciphertext from python-cryptography. */
    { .path = "des-cbc-56",
      .alg = WD_CIPHER_ALG_DES, .mode = WD_CIPHER_MODE_CBC,
      .key = "80c4a2e691d5b3f7",
      .iv = "0001020304050607",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "04daf36e389223c825a21b92b31afe4a8e618385fda98452443d705da9e79cf7"
          "ba497f8d10fdda1ad89091fed4eb395c37f2c99caba4bb576c2ddb0129edbb11",
    },
    /* RFC 2144 key, SP 800-38A plaintext; from python-cryptography. */
    { .path = "cast5-cbc-128",
      .alg = WD_CIPHER_ALG_CAST5_128, .mode = WD_CIPHER_MODE_CBC,
      .key = "0123456712345678234567893456789a",
      .iv = "0001020304050607",
      .plaintext =
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
      .ciphertext =
          "227e2d5f1a8fac6ceec574338e1e39821084a9bd24ad7f90890391a3a3f65f4e"
          "135aed55bc721c0e64f496826af1b46fe92fea33aac3e850c4ba551ade705ba9",
    },
    /* IEEE 1619-2007 annex B vector 10 (XTS-AES-256, data unit 0xff). */
    { .path = "aes-xts-256-10",
      .alg = WD_CIPHER_ALG_AES_256, .mode = WD_CIPHER_MODE_XTS,
      .key =
          "2718281828459045235360287471352662497757247093699959574966967627"
          "3141592653589793238462643383279502884197169399375105820974944592",
      .iv = "ff000000000000000000000000000000",
      .plaintext =
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
          "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
          "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
          "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
          "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
          "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
          "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
          "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
          "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
          "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
          "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
          "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
          "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
          "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
          "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      .ciphertext =
          "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
          "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
          "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
          "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
          "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
          "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
          "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
          "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
          "84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
          "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
          "9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
          "a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
          "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
          "645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
          "1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
          "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151",
    },
};

const size_t n_cipher_vectors = sizeof(cipher_vectors) / sizeof(cipher_vectors[0]);
