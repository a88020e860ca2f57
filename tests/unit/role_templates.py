"""Render the roles' templates in unit tests as Ansible does, with the Ansible filters they use (comment, bool,
ternary, quote: the same behaviour, written for plain Jinja) and the collection's per_group."""

import importlib.util
import pathlib
import shlex

import jinja2
from ansible.module_utils.parsing.convert_bool import boolean

# the collection's filter, by its file (the functional tests import this module outside ansible-test's tree)
_SPEC = importlib.util.spec_from_file_location(
    "per_group", pathlib.Path(__file__).resolve().parents[2] / "plugins" / "filter" / "per_group.py")
_PER_GROUP = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_PER_GROUP)


def jinja_env():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(comment=lambda text: "# " + text, bool=boolean, quote=shlex.quote,
                       ternary=lambda value, yes, no: yes if value else no)
    env.filters["redis_ha.sentinel_vip.per_group"] = _PER_GROUP.per_group
    return env
