"""Render the roles' templates in unit tests as Ansible does, with the Ansible filters they use (comment, bool,
ternary, quote: the same behaviour, written for plain Jinja) and the collection's per_group."""

import shlex

import jinja2
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.redis_ha.sentinel_vip.plugins.filter.per_group import per_group


def jinja_env():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(comment=lambda text: "# " + text, bool=boolean, quote=shlex.quote,
                       ternary=lambda value, yes, no: yes if value else no)
    env.filters["redis_ha.sentinel_vip.per_group"] = per_group
    return env
