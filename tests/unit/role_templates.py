"""Render the roles' templates in unit tests as Ansible does, with the Ansible filters they use (comment, bool,
ternary, quote: the same behaviour, written for plain Jinja)."""

import shlex

import jinja2
from ansible.module_utils.parsing.convert_bool import boolean


def jinja_env():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(comment=lambda text: "# " + text, bool=boolean, quote=shlex.quote,
                       ternary=lambda value, yes, no: yes if value else no)
    return env
