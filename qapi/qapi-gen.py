#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Warden schema generator (Python 3 standard library only).

Reads the JSON schema (qapi/*.json) and writes into the build directory:
  qapi-types.h      C types, enum tables, converter and handler prototypes
  qapi-types.c      enum tables, free functions, object type table
  qapi-visit.c      JSON/keyval -> C and C -> JSON converters
  qapi-commands.c   QMP marshallers, the dispatch table and event senders
  qapi-introspect.c query-qmp-schema data (QEMU's SchemaInfo format)
  qapi-objects.md   the object and command reference

Schema entities (one JSON object each):
  {"enum": N, "data": [{"name":..., "doc":...}], "doc": ...}
  {"struct": N, "base": S?, "data": {member: spec}, "doc": ...}
  {"union": N, "base": S | {members}, "discriminator": M, "data": {case: S}}
  {"object": type-name, "props": S, "parent": P?, "abstract": bool?, "doc"}
  {"command": N, "data": {members} | S, "boxed": bool?, "returns": T?}
  {"event": N, "data": {members}?}
A member spec is a type name, a one-element list [T] (a list of T) or an
object {"type", "optional", "default", "doc", "secret", "mutable"}.
"""

import argparse
import json
import os
import re
import sys

BUILTINS = {
    # name: (C type, json-type for introspection, help type name)
    'str': ('char *', 'string', 'string'),
    'int': ('int64_t', 'int', 'int'),
    'int8': ('int8_t', 'int', 'int8'),
    'int16': ('int16_t', 'int', 'int16'),
    'int32': ('int32_t', 'int', 'int32'),
    'int64': ('int64_t', 'int', 'int64'),
    'uint8': ('uint8_t', 'int', 'uint8'),
    'uint16': ('uint16_t', 'int', 'uint16'),
    'uint32': ('uint32_t', 'int', 'uint32'),
    'uint64': ('uint64_t', 'int', 'uint64'),
    'size': ('uint64_t', 'int', 'size'),
    'bool': ('bool', 'boolean', 'bool'),
    'number': ('double', 'number', 'number'),
    'any': ('json_t *', 'value', 'any'),
}
INT_RANGES = {
    'int': ('INT64_MIN', 'INT64_MAX'), 'int64': ('INT64_MIN', 'INT64_MAX'),
    'int8': ('INT8_MIN', 'INT8_MAX'), 'int16': ('INT16_MIN', 'INT16_MAX'),
    'int32': ('INT32_MIN', 'INT32_MAX'),
}
UINT_RANGES = {
    'uint8': 'UINT8_MAX', 'uint16': 'UINT16_MAX', 'uint32': 'UINT32_MAX',
    'uint64': 'UINT64_MAX',
}
C_RESERVED = {
    'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do',
    'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if',
    'inline', 'int', 'long', 'register', 'restrict', 'return', 'short',
    'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union',
    'unsigned', 'void', 'volatile', 'while', 'bool', 'true', 'false',
    'unix', 'linux', 'errno',
}


class SchemaError(Exception):
    pass


def c_name(name, protect=True):
    n = re.sub(r'[^A-Za-z0-9_]', '_', name)
    if protect and (n in C_RESERVED or n[0].isdigit()):
        return 'q_' + n
    return n


def camel_to_upper(name):
    out = re.sub(r'(?<=[a-z0-9])([A-Z])', r'_\1', name)
    return c_name(out, False).upper()


def c_str(s):
    if s is None:
        return 'NULL'
    return json.dumps(s, ensure_ascii=True)


class Member:
    def __init__(self, name, spec, where):
        if isinstance(spec, (str, list)):
            spec = {'type': spec}
        if not isinstance(spec, dict) or 'type' not in spec:
            raise SchemaError('%s: member %s needs a type' % (where, name))
        self.name = name
        self.type = spec['type']
        self.optional = bool(spec.get('optional', False))
        self.default = spec.get('default')
        self.doc = spec.get('doc', '')
        self.secret = bool(spec.get('secret', False))
        self.mutable = bool(spec.get('mutable', False))
        self.c = c_name(name)


class Schema:
    def __init__(self):
        self.enums = {}
        self.structs = {}
        self.unions = {}
        self.objects = []
        self.commands = []
        self.events = []
        self.order = []          # type names in definition order
        self.lists = []          # element type names that need a list type

    def load(self, path):
        with open(path) as f:
            top = json.load(f)
        base = os.path.dirname(path)
        if isinstance(top, dict) and 'include' in top:
            for inc in top['include']:
                self.load(os.path.join(base, inc))
            return
        for ent in top:
            self.add(ent, path)

    def add(self, ent, where):
        if 'enum' in ent:
            name = ent['enum']
            vals = [v if isinstance(v, dict) else {'name': v}
                    for v in ent['data']]
            self.enums[name] = {'name': name, 'values': vals,
                                'doc': ent.get('doc', '')}
            self.order.append(name)
        elif 'struct' in ent:
            name = ent['struct']
            self.structs[name] = {
                'name': name, 'base': ent.get('base'),
                'members': [Member(k, v, name)
                            for k, v in ent.get('data', {}).items()],
                'doc': ent.get('doc', '')}
            self.order.append(name)
        elif 'union' in ent:
            self.add_union(ent['union'], ent.get('base'),
                           ent['discriminator'], ent['data'],
                           ent.get('doc', ''))
        elif 'object' in ent:
            self.objects.append(ent)
        elif 'command' in ent:
            self.commands.append(ent)
        elif 'event' in ent:
            self.events.append(ent)
        else:
            raise SchemaError('%s: unknown entity %r' % (where, ent))

    def add_union(self, name, base, disc, data, doc):
        if isinstance(base, dict):
            bname = 'q_obj_%s_base' % c_name(name, False)
            self.structs[bname] = {
                'name': bname, 'base': None, 'doc': '',
                'members': [Member(k, v, name) for k, v in base.items()]}
            self.order.append(bname)
            base = bname
        self.unions[name] = {'name': name, 'base': base, 'disc': disc,
                             'branches': data, 'doc': doc}
        self.order.append(name)

    def finish(self):
        # Object types become the ObjectType enum and ObjectOptions union.
        concrete = [o for o in self.objects if not o.get('abstract')]
        self.enums['ObjectType'] = {
            'name': 'ObjectType', 'doc': 'User-creatable object types.',
            'values': [{'name': o['object'], 'doc': o.get('doc', '')}
                       for o in concrete]}
        self.order.insert(0, 'ObjectType')
        self.add_union('ObjectOptions',
                       {'qom-type': {'type': 'ObjectType',
                                     'doc': 'the object type'},
                        'id': {'type': 'str', 'doc': 'the object id'}},
                       'qom-type',
                       {o['object']: o['props'] for o in concrete},
                       'Options of any user-creatable object.')
        # Implicit argument structs of commands and events.
        for ent in self.commands + self.events:
            kind = 'command' if 'command' in ent else 'event'
            data = ent.get('data')
            if isinstance(data, dict):
                sname = 'q_obj_%s_arg' % c_name(ent[kind], False)
                self.structs[sname] = {
                    'name': sname, 'base': None, 'doc': '',
                    'members': [Member(k, v, ent[kind])
                                for k, v in data.items()]}
                self.order.append(sname)
                ent['_arg'] = sname
            elif isinstance(data, str):
                ent['_arg'] = data
            else:
                ent['_arg'] = None
        # Collect list types used anywhere.
        def note(t):
            if isinstance(t, list):
                el = t[0]
                if el not in self.lists:
                    self.lists.append(el)
        for s in self.structs.values():
            for m in s['members']:
                note(m.type)
        for c in self.commands:
            note(c.get('returns'))
        self.check()

    def check(self):
        def known(t):
            if isinstance(t, list):
                return known(t[0])
            return (t in BUILTINS or t in self.enums or t in self.structs
                    or t in self.unions)
        for s in self.structs.values():
            if s['base'] and s['base'] not in self.structs:
                raise SchemaError('%s: unknown base %s' % (s['name'],
                                                           s['base']))
            for m in s['members']:
                if not known(m.type):
                    raise SchemaError('%s.%s: unknown type %r'
                                      % (s['name'], m.name, m.type))
        for u in self.unions.values():
            for case, t in u['branches'].items():
                if t not in self.structs:
                    raise SchemaError('%s: branch %s must be a struct'
                                      % (u['name'], case))

    # -- helpers ---------------------------------------------------------
    def all_members(self, sname):
        s = self.structs[sname]
        out = []
        if s['base']:
            out += self.all_members(s['base'])
        return out + s['members']

    def kind(self, t):
        if isinstance(t, list):
            return 'list'
        if t in BUILTINS:
            return 'builtin'
        if t in self.enums:
            return 'enum'
        if t in self.structs:
            return 'struct'
        if t in self.unions:
            return 'union'
        raise SchemaError('unknown type %r' % (t,))

    def ctype(self, t):
        k = self.kind(t)
        if k == 'list':
            return '%sList *' % self.tname(t[0])
        if k == 'builtin':
            return BUILTINS[t][0]
        if k == 'enum':
            return t
        return '%s *' % c_name(t, False)

    def tname(self, t):
        return c_name(t, False)

    def is_ptr(self, t):
        return self.kind(t) in ('list', 'struct', 'union') or t in (
            'str', 'any')


# ---------------------------------------------------------------------------
# C code emitters

def gen_header(s):
    o = []
    w = o.append
    w('/* Generated by qapi-gen.py from the schema; do not edit. */')
    w('#ifndef WARDEN_QAPI_TYPES_H\n#define WARDEN_QAPI_TYPES_H\n')
    w('#include <stdbool.h>\n#include <stdint.h>\n#include <glib.h>')
    w('#include "runtime/json-util.h"\n')
    w('typedef struct QmpSession QmpSession;\n')
    for name in s.order:
        if name in s.enums:
            e = s.enums[name]
            up = camel_to_upper(name)
            w('typedef enum %s {' % name)
            for i, v in enumerate(e['values']):
                w('    %s_%s = %d,' % (up, c_name(v['name'], False).upper(),
                                      i))
            w('    %s__MAX = %d,' % (up, len(e['values'])))
            w('} %s;' % name)
            w('extern const char *const %s_lookup[];' % name)
            w('const char *%s_str(%s v);\n' % (name, name))
    for name in s.order:
        if name in s.structs or name in s.unions:
            cn = c_name(name, False)
            w('typedef struct %s %s;' % (cn, cn))
    w('')
    for el in s.lists:
        tn = s.tname(el)
        w('typedef struct %sList {\n    struct %sList *next;\n    %s value;\n'
          '} %sList;' % (tn, tn, s.ctype(el), tn))
    w('')
    for name in s.order:
        if name in s.structs:
            st = s.structs[name]
            w('struct %s {' % c_name(name, False))
            for m in s.all_members(name):
                if m.optional:
                    w('    bool has_%s;' % m.c)
                w('    %s%s%s;' % (s.ctype(m.type),
                                   '' if s.ctype(m.type).endswith('*')
                                   else ' ', m.c))
            if not s.all_members(name):
                w('    char q_dummy;')
            w('};')
        elif name in s.unions:
            u = s.unions[name]
            w('struct %s {' % c_name(name, False))
            for m in s.all_members(u['base']):
                if m.optional:
                    w('    bool has_%s;' % m.c)
                w('    %s%s%s;' % (s.ctype(m.type),
                                   '' if s.ctype(m.type).endswith('*')
                                   else ' ', m.c))
            w('    union {\n        void *data;')
            for case, t in u['branches'].items():
                w('        %s *%s;' % (c_name(t, False), c_name(case)))
            w('    } u;\n};')
    w('')
    for name in s.order:
        if name in s.structs or name in s.unions:
            cn = c_name(name, False)
            w('void qapi_free_%s(%s *p);' % (cn, cn))
            w('G_DEFINE_AUTOPTR_CLEANUP_FUNC(%s, qapi_free_%s)' % (cn, cn))
            w('bool qapi_in_%s(json_t *v, const char *name, bool kv, '
              '%s **out, GError **errp);' % (cn, cn))
            w('json_t *qapi_out_%s(const %s *p, bool secrets);' % (cn, cn))
    for el in s.lists:
        tn = s.tname(el)
        w('void qapi_free_%sList(%sList *p);' % (tn, tn))
        w('bool qapi_in_%sList(json_t *v, const char *name, bool kv, '
          '%sList **out, GError **errp);' % (tn, tn))
        w('json_t *qapi_out_%sList(const %sList *p, bool secrets);'
          % (tn, tn))
    for name in s.enums:
        w('bool qapi_in_%s(json_t *v, const char *name, bool kv, %s *out, '
          'GError **errp);' % (name, name))
        w('json_t *qapi_out_%s(%s v, bool secrets);' % (name, name))
    w('')
    # Command handlers, implemented in monitor/.
    w('/* QMP command handlers (monitor/qmp-cmds-*.c). */')
    for c in s.commands:
        w('bool %s;' % handler_proto(s, c))
    w('')
    w('typedef bool (*QmpMarshalFunc)(QmpSession *session, json_t *args,')
    w('                               json_t **ret, GError **errp);')
    w('typedef struct QmpCommandDef {\n    const char *name;\n'
      '    QmpMarshalFunc fn;\n} QmpCommandDef;')
    w('extern const QmpCommandDef qmp_commands[];')
    w('extern const size_t qmp_ncommands;')
    w('extern const char qmp_schema_json[];\n')
    for e in s.events:
        arg = e['_arg']
        if arg:
            w('void qapi_event_send_%s(const %s *data);'
              % (c_name(e['event'], False).lower(), c_name(arg, False)))
        else:
            w('void qapi_event_send_%s(void);'
              % c_name(e['event'], False).lower())
    w('''
/* Object types declared in the schema. */
typedef struct QapiMemberInfo {
    const char *name;
    const char *type;          /* for help: string, bool, int, size, enum */
    const char *default_json;  /* NULL when none */
    const char *doc;
    bool optional;
    bool secret;               /* never shown in output */
    bool is_mutable;           /* qom-set allowed after creation */
} QapiMemberInfo;

typedef struct QapiObjectInfo {
    const char *name;
    const char *parent;        /* NULL for none */
    bool abstract;
    const char *doc;
    const char *props_type;
    const QapiMemberInfo *members;
    size_t nmembers;
    bool (*props_in)(json_t *v, bool kv, void **out, GError **errp);
    json_t *(*props_out)(const void *props, bool secrets);
    void (*props_free)(void *props);
} QapiObjectInfo;

extern const QapiObjectInfo qapi_object_types[];
extern const size_t qapi_object_ntypes;
''')
    w('#endif')
    return '\n'.join(o) + '\n'


def handler_proto(s, c):
    cn = c_name(c['command'], False)
    args = ['QmpSession *session']
    if c['_arg']:
        args.append('const %s *arg' % c_name(c['_arg'], False))
    if c.get('returns'):
        args.append('%s*ret' % (s.ctype(c['returns']) + (
            '' if s.ctype(c['returns']).endswith('*') else ' ')))
    args.append('GError **errp')
    return 'qmp_%s(%s)' % (cn, ', '.join(args))


def default_c(s, m):
    """C expression for a member's default, or None."""
    d = m.default
    if d is None:
        return None
    k = s.kind(m.type)
    if k == 'enum':
        return '%s_%s' % (camel_to_upper(m.type), c_name(d, False).upper())
    if m.type == 'str':
        return 'g_strdup(%s)' % c_str(d)
    if m.type == 'bool':
        return 'true' if d else 'false'
    if m.type in BUILTINS:
        return repr(d)
    raise SchemaError('%s: defaults only for scalars' % m.name)


def gen_in_member(s, m, struct_var):
    """Statements that read member @m from json object v into p."""
    o = []
    k = s.kind(m.type)
    tgt = '&%s->%s' % (struct_var, m.c)
    o.append('    {')
    o.append('        json_t *mv = json_object_get(v, %s);' % c_str(m.name))
    o.append('        g_autofree char *mn = qapi_path(name, %s);'
             % c_str(m.name))
    o.append('        if (mv) {')
    if k == 'builtin':
        t = m.type
        if t == 'str':
            call = 'qapi_in_str(mv, mn, kv, %s, errp)' % tgt
        elif t == 'bool':
            call = 'qapi_in_bool(mv, mn, kv, %s, errp)' % tgt
        elif t in INT_RANGES:
            lo, hi = INT_RANGES[t]
            o.append('            int64_t tmp;')
            call = ('qapi_in_int(mv, mn, kv, %s, %s, "%s_t", &tmp, errp)'
                    % (lo, hi, t if t != 'int' else 'int64'))
        elif t in UINT_RANGES:
            o.append('            uint64_t tmp;')
            call = ('qapi_in_uint(mv, mn, kv, %s, "%s_t", &tmp, errp)'
                    % (UINT_RANGES[t], t))
        elif t == 'size':
            call = 'qapi_in_size(mv, mn, kv, %s, errp)' % tgt
        elif t == 'number':
            call = 'qapi_in_number(mv, mn, kv, %s, errp)' % tgt
        elif t == 'any':
            call = 'qapi_in_any(mv, mn, kv, %s, errp)' % tgt
        o.append('            if (!%s) {' % call)
        o.append('                return false;\n            }')
        if t in INT_RANGES or t in UINT_RANGES:
            o.append('            %s->%s = tmp;' % (struct_var, m.c))
    else:
        tn = s.tname(m.type[0]) + 'List' if k == 'list' else s.tname(m.type)
        o.append('            if (!qapi_in_%s(mv, mn, kv, %s, errp)) {'
                 % (tn, tgt))
        o.append('                return false;\n            }')
    if m.optional:
        o.append('            %s->has_%s = true;' % (struct_var, m.c))
    o.append('        } else {')
    if m.optional:
        d = default_c(s, m)
        if d is not None:
            o.append('            %s->%s = %s;' % (struct_var, m.c, d))
    else:
        o.append('            qapi_error_missing(errp, mn);')
        o.append('            return false;')
    o.append('        }\n    }')
    return o


def gen_out_member(s, m, var, obj):
    o = []
    k = s.kind(m.type)
    val = '%s->%s' % (var, m.c)
    if k == 'builtin':
        t = m.type
        if t == 'str':
            expr = 'json_string(%s)' % val
        elif t == 'bool':
            expr = 'json_boolean(%s)' % val
        elif t == 'number':
            expr = 'json_real(%s)' % val
        elif t == 'any':
            expr = 'json_incref(%s)' % val
        elif t in ('uint64', 'size'):
            expr = 'qapi_out_uint64(%s)' % val
        else:
            expr = 'json_integer(%s)' % val
    else:
        tn = s.tname(m.type[0]) + 'List' if k == 'list' else s.tname(m.type)
        expr = 'qapi_out_%s(%s, secrets)' % (tn, val)
    cond = []
    if m.secret:
        cond.append('secrets')
    if s.is_ptr(m.type):
        cond.append(val)
    elif m.optional and m.default is None:
        cond.append('%s->has_%s' % (var, m.c))
    indent = '    '
    if cond:
        o.append('    if (%s) {' % ' && '.join(cond))
        indent = '        '
    o.append('%sjson_object_set_new(%s, %s, %s);' % (indent, obj,
                                                     c_str(m.name), expr))
    if cond:
        o.append('    }')
    return o


def gen_free_member(s, m, var):
    k = s.kind(m.type)
    val = '%s->%s' % (var, m.c)
    if k == 'list':
        return ['    qapi_free_%sList(%s);' % (s.tname(m.type[0]), val)]
    if k in ('struct', 'union'):
        return ['    qapi_free_%s(%s);' % (s.tname(m.type), val)]
    if m.type == 'str':
        if m.secret:
            return ['    qapi_free_secret_str(%s);' % val]
        return ['    g_free(%s);' % val]
    if m.type == 'any':
        return ['    json_decref(%s);' % val]
    return []


def member_names(s, sname):
    return [m.name for m in s.all_members(sname)]


def gen_visit(s):
    o = []
    w = o.append
    w('/* Generated by qapi-gen.py from the schema; do not edit. */')
    w('#include "qapi-types.h"\n#include "runtime/qapi-util.h"\n')
    # enums
    for name, e in s.enums.items():
        w('bool qapi_in_%s(json_t *v, const char *name, bool kv, %s *out, '
          'GError **errp)\n{' % (name, name))
        w('    int tmp;')
        w('    if (!qapi_in_enum(v, name, kv, %s_lookup, %d, &tmp, errp)) {'
          % (name, len(e['values'])))
        w('        return false;\n    }')
        w('    *out = (%s)tmp;\n    return true;\n}\n' % name)
        w('json_t *qapi_out_%s(%s v, bool secrets)\n{' % (name, name))
        w('    return json_string(%s_str(v));\n}\n' % name)
    # structs: member readers
    for name in s.order:
        if name not in s.structs:
            continue
        cn = c_name(name, False)
        names = member_names(s, name)
        w('static const char *const %s_names[] = {' % cn)
        for n in names:
            w('    %s,' % c_str(n))
        w('    NULL\n};\n')
        w('static bool qapi_members_%s(json_t *v, const char *name, bool kv, '
          '%s *p, GError **errp)\n{' % (cn, cn))
        for m in s.all_members(name):
            o.extend(gen_in_member(s, m, 'p'))
        w('    return true;\n}\n')
        w('bool qapi_in_%s(json_t *v, const char *name, bool kv, %s **out, '
          'GError **errp)\n{' % (cn, cn))
        w('    if (!qapi_in_object_check(v, name, errp)) {')
        w('        return false;\n    }')
        w('    g_autoptr(%s) p = g_new0(%s, 1);' % (cn, cn))
        w('    if (!qapi_members_%s(v, name, kv, p, errp) ||' % cn)
        w('        !qapi_check_unexpected(v, name, %s_names, NULL, errp)) {'
          % cn)
        w('        return false;\n    }')
        w('    *out = g_steal_pointer(&p);\n    return true;\n}\n')
        w('json_t *qapi_out_%s(const %s *p, bool secrets)\n{' % (cn, cn))
        w('    json_t *o = json_object();')
        w('    if (!p) {\n        return o;\n    }')
        for m in s.all_members(name):
            o.extend(gen_out_member(s, m, 'p', 'o'))
        w('    (void)secrets;\n    return o;\n}\n')
        w('void qapi_free_%s(%s *p)\n{' % (cn, cn))
        w('    if (!p) {\n        return;\n    }')
        for m in s.all_members(name):
            o.extend(gen_free_member(s, m, 'p'))
        w('    g_free(p);\n}\n')
    # unions
    for name, u in s.unions.items():
        cn = c_name(name, False)
        base = u['base']
        bm = s.all_members(base)
        disc = [m for m in bm if m.name == u['disc']][0]
        w('bool qapi_in_%s(json_t *v, const char *name, bool kv, %s **out, '
          'GError **errp)\n{' % (cn, cn))
        w('    if (!qapi_in_object_check(v, name, errp)) {')
        w('        return false;\n    }')
        w('    g_autoptr(%s) p = g_new0(%s, 1);' % (cn, cn))
        for m in bm:
            o.extend(gen_in_member(s, m, 'p'))
        w('    switch (p->%s) {' % disc.c)
        for case, t in u['branches'].items():
            tn = c_name(t, False)
            w('    case %s_%s: {' % (camel_to_upper(disc.type),
                                    c_name(case, False).upper()))
            w('        %s *b = g_new0(%s, 1);' % (tn, tn))
            w('        p->u.data = b;')
            w('        if (!qapi_members_%s(v, name, kv, b, errp) ||' % tn)
            w('            !qapi_check_unexpected(v, name, %s_names, '
              '%s_names, errp)) {' % (c_name(base, False), tn))
            w('            return false;\n        }')
            w('        break;\n    }')
        w('    default:\n        g_assert_not_reached();\n    }')
        w('    *out = g_steal_pointer(&p);\n    return true;\n}\n')
        w('json_t *qapi_out_%s(const %s *p, bool secrets)\n{' % (cn, cn))
        w('    json_t *o = json_object();')
        for m in bm:
            o.extend(gen_out_member(s, m, 'p', 'o'))
        w('    json_t *b = NULL;')
        w('    switch (p->%s) {' % disc.c)
        for case, t in u['branches'].items():
            w('    case %s_%s:' % (camel_to_upper(disc.type),
                                  c_name(case, False).upper()))
            w('        b = qapi_out_%s(p->u.%s, secrets);'
              % (c_name(t, False), c_name(case)))
            w('        break;')
        w('    default:\n        break;\n    }')
        w('    if (b) {\n        json_object_update(o, b);\n'
          '        json_decref(b);\n    }')
        w('    return o;\n}\n')
        w('void qapi_free_%s(%s *p)\n{' % (cn, cn))
        w('    if (!p) {\n        return;\n    }')
        for m in bm:
            o.extend(gen_free_member(s, m, 'p'))
        w('    switch (p->%s) {' % disc.c)
        for case, t in u['branches'].items():
            w('    case %s_%s:' % (camel_to_upper(disc.type),
                                  c_name(case, False).upper()))
            w('        qapi_free_%s(p->u.%s);' % (c_name(t, False),
                                                  c_name(case)))
            w('        break;')
        w('    default:\n        break;\n    }')
        w('    g_free(p);\n}\n')
    # lists
    for el in s.lists:
        tn = s.tname(el)
        k = s.kind(el)
        m = Member('elem', el, 'list')
        w('bool qapi_in_%sList(json_t *v, const char *name, bool kv, '
          '%sList **out, GError **errp)\n{' % (tn, tn))
        w('    size_t n;')
        w('    g_autoptr(json_t) arr = qapi_list_items(v, name, kv, &n, '
          'errp);')
        w('    if (!arr) {\n        return false;\n    }')
        w('    %sList *head = NULL, **tail = &head;' % tn)
        w('    for (size_t i = 0; i < n; i++) {')
        w('        g_autofree char *en = qapi_path_index(name, i, kv);')
        w('        json_t *ev = json_array_get(arr, i);')
        w('        %sList *node = g_new0(%sList, 1);' % (tn, tn))
        w('        *tail = node;\n        tail = &node->next;')
        if k == 'builtin':
            if el == 'str':
                call = 'qapi_in_str(ev, en, kv, &node->value, errp)'
            elif el == 'bool':
                call = 'qapi_in_bool(ev, en, kv, &node->value, errp)'
            elif el == 'any':
                call = 'qapi_in_any(ev, en, kv, &node->value, errp)'
            elif el == 'number':
                call = 'qapi_in_number(ev, en, kv, &node->value, errp)'
            else:
                raise SchemaError('lists of %s not supported' % el)
        else:
            call = 'qapi_in_%s(ev, en, kv, &node->value, errp)' % tn
        w('        if (!%s) {' % call)
        w('            qapi_free_%sList(head);\n            return false;'
          % tn)
        w('        }\n    }')
        w('    *out = head;\n    return true;\n}\n')
        w('json_t *qapi_out_%sList(const %sList *p, bool secrets)\n{'
          % (tn, tn))
        w('    json_t *a = json_array();')
        w('    for (; p; p = p->next) {')
        if k == 'builtin':
            ex = {'str': 'json_string(p->value)',
                  'bool': 'json_boolean(p->value)',
                  'any': 'json_incref(p->value)',
                  'number': 'json_real(p->value)'}[el]
        else:
            ex = 'qapi_out_%s(p->value, secrets)' % tn
        w('        json_array_append_new(a, %s);' % ex)
        w('    }\n    return a;\n}\n')
        w('void qapi_free_%sList(%sList *p)\n{' % (tn, tn))
        w('    while (p) {\n        %sList *next = p->next;' % tn)
        if k in ('struct', 'union'):
            w('        qapi_free_%s(p->value);' % tn)
        elif el == 'str':
            w('        g_free(p->value);')
        elif el == 'any':
            w('        json_decref(p->value);')
        w('        g_free(p);\n        p = next;\n    }\n}\n')
    return '\n'.join(o) + '\n'


def gen_types_c(s):
    o = []
    w = o.append
    w('/* Generated by qapi-gen.py from the schema; do not edit. */')
    w('#include "qapi-types.h"\n')
    for name, e in s.enums.items():
        w('const char *const %s_lookup[] = {' % name)
        for v in e['values']:
            w('    %s,' % c_str(v['name']))
        w('    NULL\n};\n')
        w('const char *%s_str(%s v)\n{' % (name, name))
        w('    return (unsigned)v < %d ? %s_lookup[v] : "?";\n}\n'
          % (len(e['values']), name))
    # object info table
    for ob in s.objects:
        pn = ob['props']
        cn = c_name(pn, False)
        on = c_name(ob['object'], False)
        w('static const QapiMemberInfo %s_members[] = {' % on)
        for m in s.all_members(pn):
            w('    { .name = %s, .type = %s, .default_json = %s, .doc = %s,'
              % (c_str(m.name), c_str(help_type(s, m.type)),
                 c_str(None if m.default is None else json.dumps(m.default)),
                 c_str(m.doc)))
            w('      .optional = %s, .secret = %s, .is_mutable = %s },'
              % (b(m.optional), b(m.secret), b(m.mutable)))
        w('};\n')
        w('static bool %s_props_in(json_t *v, bool kv, void **out, '
          'GError **errp)\n{' % on)
        w('    return qapi_in_%s(v, NULL, kv, (%s **)out, errp);\n}\n'
          % (cn, cn))
        w('static json_t *%s_props_out(const void *p, bool secrets)\n{' % on)
        w('    return qapi_out_%s(p, secrets);\n}\n' % cn)
        w('static void %s_props_free(void *p)\n{' % on)
        w('    qapi_free_%s(p);\n}\n' % cn)
    w('const QapiObjectInfo qapi_object_types[] = {')
    for ob in s.objects:
        on = c_name(ob['object'], False)
        w('    { .name = %s, .parent = %s, .abstract = %s, .doc = %s,'
          % (c_str(ob['object']), c_str(ob.get('parent')),
             b(ob.get('abstract', False)), c_str(ob.get('doc', ''))))
        w('      .props_type = %s, .members = %s_members,'
          % (c_str(ob['props']), on))
        w('      .nmembers = G_N_ELEMENTS(%s_members),' % on)
        w('      .props_in = %s_props_in, .props_out = %s_props_out,'
          % (on, on))
        w('      .props_free = %s_props_free },' % on)
    w('};')
    w('const size_t qapi_object_ntypes = G_N_ELEMENTS(qapi_object_types);')
    return '\n'.join(o) + '\n'


def b(x):
    return 'true' if x else 'false'


def help_type(s, t):
    if isinstance(t, list):
        return help_type(s, t[0])
    if t in BUILTINS:
        return BUILTINS[t][2]
    return t


def gen_commands(s):
    o = []
    w = o.append
    w('/* Generated by qapi-gen.py from the schema; do not edit. */')
    w('#include "qapi-types.h"\n#include "runtime/qapi-util.h"')
    w('#include "runtime/event.h"\n')
    for c in s.commands:
        cn = c_name(c['command'], False)
        w('static bool qmp_marshal_%s(QmpSession *session, json_t *args, '
          'json_t **ret, GError **errp)\n{' % cn)
        call = ['session']
        if c['_arg']:
            an = c_name(c['_arg'], False)
            w('    g_autoptr(%s) arg = NULL;' % an)
            w('    if (!qapi_in_%s(args, NULL, false, &arg, errp)) {' % an)
            w('        return false;\n    }')
            call.append('arg')
        else:
            w('    if (!qapi_check_no_args(args, errp)) {')
            w('        return false;\n    }')
        r = c.get('returns')
        if r:
            w('    %s%sretval = %s;' % (
                s.ctype(r), '' if s.ctype(r).endswith('*') else ' ',
                'NULL' if s.ctype(r).endswith('*') else '0'))
            call.append('&retval')
        call.append('errp')
        w('    if (!qmp_%s(%s)) {' % (cn, ', '.join(call)))
        if r and s.ctype(r).endswith('*'):
            w('        g_assert(retval == NULL);')
        w('        return false;\n    }')
        if r:
            k = s.kind(r)
            if r == 'any':
                w('    *ret = retval ? retval : json_null();')
            else:
                tn = s.tname(r[0]) + 'List' if k == 'list' else s.tname(r)
                w('    *ret = qapi_out_%s(retval, false);' % tn)
                w('    qapi_free_%s(retval);' % tn)
        else:
            w('    *ret = json_object();')
        w('    return true;\n}\n')
    w('const QmpCommandDef qmp_commands[] = {')
    for c in sorted(s.commands, key=lambda c: c['command']):
        w('    { %s, qmp_marshal_%s },' % (c_str(c['command']),
                                           c_name(c['command'], False)))
    w('};')
    w('const size_t qmp_ncommands = G_N_ELEMENTS(qmp_commands);\n')
    for e in s.events:
        en = c_name(e['event'], False).lower()
        if e['_arg']:
            an = c_name(e['_arg'], False)
            w('void qapi_event_send_%s(const %s *data)\n{' % (en, an))
            w('    wd_event_emit(%s, qapi_out_%s(data, false));\n}\n'
              % (c_str(e['event']), an))
        else:
            w('void qapi_event_send_%s(void)\n{' % en)
            w('    wd_event_emit(%s, NULL);\n}\n' % c_str(e['event']))
    return '\n'.join(o) + '\n'


def gen_introspect(s):
    """QEMU's SchemaInfo list, with non-command/event names masked."""
    names = {}
    entries = []
    builtins_used = set()

    def ref(t):
        if isinstance(t, list):
            el = ref(t[0])
            an = '[%s]' % el
            if an not in names:
                names[an] = an
                entries.append({'name': an, 'meta-type': 'array',
                                'element-type': el})
            return an
        if t in BUILTINS:
            jt = BUILTINS[t][1]
            bn = 'int' if jt == 'int' else t
            if bn not in builtins_used:
                builtins_used.add(bn)
                entries.append({'name': bn, 'meta-type': 'builtin',
                                'json-type': jt})
            return bn
        if t in names:
            return names[t]
        masked = str(len(names))
        names[t] = masked
        if t in s.enums:
            vals = [v['name'] for v in s.enums[t]['values']]
            entries.append({'name': masked, 'meta-type': 'enum',
                            'members': [{'name': v} for v in vals],
                            'values': vals})
        elif t in s.structs:
            ent = {'name': masked, 'meta-type': 'object'}
            entries.append(ent)
            ent['members'] = members(s.all_members(t))
        elif t in s.unions:
            u = s.unions[t]
            ent = {'name': masked, 'meta-type': 'object'}
            entries.append(ent)
            ent['members'] = members(s.all_members(u['base']))
            ent['tag'] = u['disc']
            ent['variants'] = [{'case': case, 'type': ref(bt)}
                               for case, bt in u['branches'].items()]
        return masked

    def members(ms):
        out = []
        for m in ms:
            d = {'name': m.name, 'type': ref(m.type)}
            if m.optional:
                d['default'] = None
            out.append(d)
        return out

    empty = {'struct': None}
    names['__empty'] = '0'
    entries.append({'name': '0', 'meta-type': 'object', 'members': []})
    del empty
    for c in s.commands:
        ent = {'name': c['command'], 'meta-type': 'command',
               'arg-type': ref(c['_arg']) if c['_arg'] else '0',
               'ret-type': ref(c['returns']) if c.get('returns') else '0'}
        entries.append(ent)
    for e in s.events:
        entries.append({'name': e['event'], 'meta-type': 'event',
                        'arg-type': ref(e['_arg']) if e['_arg'] else '0'})
    text = json.dumps(entries, separators=(',', ':'))
    o = ['/* Generated by qapi-gen.py from the schema; do not edit. */',
         '#include "qapi-types.h"\n',
         'const char qmp_schema_json[] =']
    for i in range(0, len(text), 70):
        o.append('    %s' % json.dumps(text[i:i + 70]))
    o.append(';')
    return '\n'.join(o) + '\n'


def gen_docs(s):
    o = ['# Warden object and command reference', '',
         'Generated from the schema (qapi/*.json). Every property is set '
         'the same way on the command line (`--object TYPE,id=ID,key=value`)'
         ' and over QMP (`object-add`).', '']
    for ob in s.objects:
        if ob.get('abstract'):
            continue
        o.append('## `%s`' % ob['object'])
        o.append('')
        o.append(ob.get('doc', ''))
        o.append('')
        o.append('| property | type | default | description |')
        o.append('|---|---|---|---|')
        o.append('| `id` | string | (required) | the object id |')
        for m in s.all_members(ob['props']):
            d = '(required)' if not m.optional else (
                '' if m.default is None else '`%s`' % json.dumps(m.default))
            t = help_type(s, m.type)
            if isinstance(m.type, list):
                t = 'list of ' + t
            if isinstance(m.type, str) and m.type in s.enums:
                t += ' (%s)' % ' \\| '.join(v['name'] for v in
                                             s.enums[m.type]['values'])
            o.append('| `%s` | %s | %s | %s%s |' % (
                m.name, t, d, m.doc.replace('|', '\\|'),
                ' (secret: never shown)' if m.secret else ''))
        o.append('')
    o.append('## QMP commands')
    o.append('')
    for c in sorted(s.commands, key=lambda c: c['command']):
        o.append('- `%s`: %s' % (c['command'], c.get('doc', '')))
    o.append('')
    o.append('## QMP events')
    o.append('')
    for e in s.events:
        o.append('- `%s`: %s' % (e['event'], e.get('doc', '')))
    return '\n'.join(o) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-o', '--outdir', required=True)
    ap.add_argument('schema')
    args = ap.parse_args()
    s = Schema()
    try:
        s.load(args.schema)
        s.finish()
        outputs = {
            'qapi-types.h': gen_header(s),
            'qapi-types.c': gen_types_c(s),
            'qapi-visit.c': gen_visit(s),
            'qapi-commands.c': gen_commands(s),
            'qapi-introspect.c': gen_introspect(s),
            'qapi-objects.md': gen_docs(s),
        }
    except (SchemaError, KeyError, json.JSONDecodeError) as e:
        print('qapi-gen: %s' % e, file=sys.stderr)
        return 1
    os.makedirs(args.outdir, exist_ok=True)
    for fn, text in outputs.items():
        path = os.path.join(args.outdir, fn)
        old = None
        if os.path.exists(path):
            with open(path) as f:
                old = f.read()
        if old != text:
            with open(path, 'w') as f:
                f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
