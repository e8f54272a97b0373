# SPDX-License-Identifier: GPL-2.0-or-later
"""Warden schema model: loads qapi/*.json, checks it, and answers type
questions for the emitters (qapigen_c.py, qapi-gen.py)."""

import json
import os
import re

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
        self.alternates = {}
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
        elif 'alternate' in ent:
            name = ent['alternate']
            self.alternates[name] = {'name': name, 'branches': ent['data'],
                                     'doc': ent.get('doc', '')}
            self.order.append(name)
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
                    or t in self.unions or t in self.alternates)
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
        for a in self.alternates.values():
            kinds = [self.alt_json(t) for t in a['branches'].values()]
            if None in kinds or len(set(kinds)) != len(kinds):
                raise SchemaError('%s: an alternate takes one str branch '
                                  'and one struct or union branch'
                                  % a['name'])

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
        if t in self.alternates:
            return 'alternate'
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
        return self.kind(t) in ('list', 'struct', 'union',
                                'alternate') or t in ('str', 'any')

    def alt_json(self, t):
        """The JSON type that selects alternate branch @t, or None."""
        if t == 'str':
            return 'string'
        if t in self.structs or t in self.unions:
            return 'object'
        return None
