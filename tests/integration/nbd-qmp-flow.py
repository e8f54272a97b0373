#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP NBD flow against warden daemon, in the shapes and texts of
qemu-storage-daemon 7.2 (../shared/ref/qmp-qom.md §1.12 G/H, §6), with
real clients (qemu-img, qemu-io, nbdinfo) in between.

Usage: nbd-qmp-flow.py WARDEN TMPDIR"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardentest import ok, passed, Qmp, run  # noqa: E402

WARDEN, TMP = sys.argv[1], sys.argv[2]


def err(r):
    assert 'error' in r, r
    return r['error']['desc']


img = os.path.join(TMP, 'disk.img')
with open(img, 'wb') as f:
    f.write(b'HELLO-NBD')
    f.truncate(1 << 20)
qmp_sock = os.path.join(TMP, 'qmp.sock')
nbd_sock = os.path.join(TMP, 'nbd.sock')
d = subprocess.Popen([WARDEN, 'daemon', '--chardev',
                      'socket,id=c0,path=%s,server=on,wait=off' % qmp_sock,
                      '--monitor', 'chardev=c0', '--blockdev',
                      'driver=file,node-name=disk0,filename=%s' % img])
try:
    for _ in range(200):
        if os.path.exists(qmp_sock):
            break
        time.sleep(0.05)
    q = Qmp(qmp_sock)
    assert q.cmd('query-block-exports') == {'return': []}
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'exp0',
                                          'node-name': 'disk0'})) == \
        'NBD server not running'
    assert err(q.cmd('nbd-server-start', {'addr': {'type': 'unix', 'data': {
        'path': nbd_sock}}, 'tls-creds': 'nope'})) == \
        "tls-creds: no object with id 'nope'; create it before the objects that use it"
    assert err(q.cmd('nbd-server-start', {'addr': {'type': 'unix',
                                                   'path': nbd_sock}})) == \
        "Parameter 'addr.data' is missing"
    assert q.cmd('nbd-server-start', {'addr': {'type': 'unix', 'data': {
        'path': nbd_sock}}}) == {'return': {}}
    assert err(q.cmd('nbd-server-start', {'addr': {'type': 'unix', 'data': {
        'path': nbd_sock + '2'}}})) == 'NBD server already running'
    ok('nbd-server-start with the legacy address form and its errors')

    assert q.cmd('block-export-add', {'type': 'nbd', 'id': 'exp0',
                                      'node-name': 'disk0',
                                      'description': 'test disk'}) == \
        {'return': {}}
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'exp0',
                                          'node-name': 'disk0',
                                          'name': 'other'})) == \
        "Block export id 'exp0' is already in use"
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'exp1',
                                          'node-name': 'nosuchnode'})) == \
        "Cannot find device='' nor node-name='nosuchnode'"
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'exp1',
                                          'node-name': 'disk0',
                                          'name': 'disk0'})) == \
        "NBD server already has export named 'disk0'"
    assert q.cmd('query-block-exports') == {'return': [
        {'id': 'exp0', 'type': 'nbd', 'node-name': 'disk0',
         'shutting-down': False}]}
    ok('block-export-add, query-block-exports and their errors')

    out = run('qemu-io', '-r', '-f', 'raw', '-c', 'read -v 0 16',
              'nbd+unix:///disk0?socket=' + nbd_sock)
    assert '48 45 4c 4c 4f 2d 4e 42 44' in out, out
    out = run('nbdinfo', '--json', 'nbd+unix:///disk0?socket=' + nbd_sock)
    info = json.loads(out)
    e = info['exports'][0]
    assert e['export-size'] == 1 << 20 and e['is_read_only'], e
    assert e['description'] == 'test disk', e
    out = run('qemu-io', '-f', 'raw', '-c', 'write 0 512',
              'nbd+unix:///disk0?socket=' + nbd_sock, expect=1)
    assert 'Permission denied' in out or 'not permitted' in out, out
    ok('qemu-io and nbdinfo read the export; writes to it fail')

    assert err(q.cmd('blockdev-del', {'node-name': 'disk0'})).startswith(
        "Node 'disk0' is busy: it is used by block export 'exp0'")
    assert q.cmd('block-export-del', {'id': 'exp0'}) == {'return': {}}
    ev = [e for e in q.events if e['event'] == 'BLOCK_EXPORT_DELETED']
    assert ev and ev[0]['data'] == {'id': 'exp0'}, q.events
    assert err(q.cmd('block-export-del', {'id': 'exp0'})) == \
        "Export 'exp0' is not found"
    ok('block-export-del emits BLOCK_EXPORT_DELETED; a node in use cannot go')

    assert q.cmd('nbd-server-add', {'device': 'disk0', 'writable': True}) \
        == {'return': {}}
    run('qemu-io', '-f', 'raw', '-c', 'write -P 0x5a 4096 4096',
        'nbd+unix:///disk0?socket=' + nbd_sock)
    with open(img, 'rb') as f:
        f.seek(4096)
        assert f.read(4096) == b'\x5a' * 4096
    q.events.clear()
    assert q.cmd('nbd-server-stop') == {'return': {}}
    ev = [e for e in q.events if e['event'] == 'BLOCK_EXPORT_DELETED']
    assert ev and ev[0]['data'] == {'id': 'disk0'}, q.events
    assert err(q.cmd('nbd-server-stop')) == 'NBD server not running'
    ok('legacy nbd-server-add, writes reach the file, nbd-server-stop')

    assert q.cmd('blockdev-add', {'driver': 'memory', 'node-name': 'mem0',
                                  'size': 1 << 20}) == {'return': {}}
    nodes = q.cmd('query-named-block-nodes')['return']
    assert {x['node-name'] for x in nodes} == {'disk0', 'mem0'}, nodes
    assert q.cmd('blockdev-del', {'node-name': 'mem0'}) == {'return': {}}
    assert err(q.cmd('blockdev-del', {'node-name': 'mem0'})) == \
        "Failed to find node with node-name='mem0'"
    ok('blockdev-add/blockdev-del/query-named-block-nodes')

    # A format node with its protocol child inline (QEMU's BlockdevRef):
    # the child gets a generated name, inherits read-only, cannot be
    # deleted on its own and goes with its parent.
    assert q.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'fmt0',
                                  'read-only': True, 'offset': 4096,
                                  'file': {'driver': 'file',
                                           'filename': img}}) \
        == {'return': {}}
    nodes = {x['node-name']: x for x in
             q.cmd('query-named-block-nodes')['return']}
    kids = [k for k in nodes if k.startswith('#block')]
    assert len(kids) == 1 and nodes[kids[0]]['ro'], nodes
    assert nodes['fmt0']['ro'] and nodes['fmt0']['drv'] == 'raw', nodes
    assert err(q.cmd('blockdev-del', {'node-name': kids[0]})) == \
        "Node '%s' was created with node 'fmt0' and is deleted with it; " \
        "delete 'fmt0' instead" % kids[0]
    assert q.cmd('nbd-server-start', {'addr': {'type': 'unix', 'data': {
        'path': nbd_sock}}}) == {'return': {}}
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'f0',
                                          'node-name': 'fmt0',
                                          'bitmaps': ['b0']})) == \
        "Bitmap 'b0' is not found"
    assert q.cmd('block-export-add', {'type': 'nbd', 'id': 'f0',
                                      'node-name': 'fmt0',
                                      'allocation-depth': True}) == \
        {'return': {}}
    out = run('nbdinfo', '--map=qemu:allocation-depth',
              'nbd+unix:///fmt0?socket=' + nbd_sock)
    assert out.split() == ['0', str((1 << 20) - 4096), '1', 'local'], out
    out = run('qemu-io', '-r', '-f', 'raw', '-c', 'read -P 0x5a 0 4096',
              'nbd+unix:///fmt0?socket=' + nbd_sock)
    assert 'read 4096/4096' in out, out
    assert q.cmd('block-export-del', {'id': 'f0'}) == {'return': {}}
    assert q.cmd('nbd-server-stop') == {'return': {}}
    assert q.cmd('blockdev-del', {'node-name': 'fmt0'}) == {'return': {}}
    nodes = [x['node-name'] for x in q.cmd('query-named-block-nodes')['return']]
    assert nodes == ['disk0'], nodes
    assert err(q.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'fmt1',
                                      'file': 7})) == \
        "Invalid parameter type for 'file', expected: BlockdevRef"
    assert err(q.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'fmt1',
                                      'file': {'driver': 'file',
                                               'filename': img + '.none'}})) \
        == "Could not open '%s.none': No such file or directory" % img
    assert err(q.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'disk0',
                                      'file': {'driver': 'memory',
                                               'size': 4096}})) == \
        "Duplicate nodes with node-name='disk0'"
    nodes = [x['node-name'] for x in q.cmd('query-named-block-nodes')['return']]
    assert nodes == ['disk0'], nodes
    ok('blockdev-add with an inline child (BlockdevRef), deleted with its '
       'parent, nothing left behind on errors')

    # nbd-server objects: two servers, exports choose with server=ID
    s1 = os.path.join(TMP, 's1.sock')
    s2 = os.path.join(TMP, 's2.sock')
    for sid, path in (('srv1', s1), ('srv2', s2)):
        assert q.cmd('object-add', {'qom-type': 'nbd-server', 'id': sid,
                                    'addr': {'type': 'unix', 'path': path}}) \
            == {'return': {}}
    assert err(q.cmd('block-export-add', {'type': 'nbd', 'id': 'e1',
                                          'node-name': 'disk0'})) == \
        'several NBD servers are running: name one with server=ID'
    assert q.cmd('block-export-add', {'type': 'nbd', 'id': 'e2',
                                      'node-name': 'disk0',
                                      'server': 'srv2'}) == {'return': {}}
    run('qemu-img', 'info', 'nbd+unix:///disk0?socket=' + s2)
    out = run('qemu-img', 'info', 'nbd+unix:///disk0?socket=' + s1, expect=1)
    assert "export 'disk0' not present" in out, out
    assert err(q.cmd('object-del', {'id': 'srv2'})) == \
        "object 'srv2' is in use by 'block export 'e2'' and cannot be " \
        "deleted; delete the user first"
    assert q.cmd('block-export-del', {'id': 'e2'}) == {'return': {}}
    assert q.cmd('object-del', {'id': 'srv2'}) == {'return': {}}
    assert not os.path.exists(s2)
    ok('nbd-server objects: several servers, server=ID, in-use protection')

    assert q.cmd('quit') == {'return': {}}
    assert d.wait(20) == 0
    assert not os.path.exists(s1) and not os.path.exists(qmp_sock)
    ok('quit tears everything down')
finally:
    if d.poll() is None:
        d.kill()
        d.wait()
print('%d checks passed' % passed())
