"""The keepalived role's check configuration template (roles/keepalived/templates/redis-vip-check.conf.j2),
rendered with the role's defaults and read by the check: every key it writes is one the check knows, and the
TLS switch reaches the check's settings."""

import pathlib

import yaml

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck import settings as vc
from ansible_collections.redis_ha.sentinel_vip.tests.unit.role_templates import jinja_env

ROLE = pathlib.Path(__file__).resolve().parents[5] / "roles" / "keepalived"  # the collection root's


def _render(**group_vars):
    env = jinja_env()
    values = dict(group_vars, ansible_managed="managed", keepalived_redis_port=6379, keepalived_announce_ip="10.0.0.1",
                  keepalived_master_name="mymaster", keepalived_sentinels=["10.0.0.1:26379", "10.0.0.2:26379"],
                  keepalived_check_redis_user="vipcheck", keepalived_check_redis_password="pw",
                  keepalived_check_sentinel_password="spw", keepalived_check_state_dir="/run/redis-vip-check",
                  keepalived_check_track_file="/run/redis-vip-check/track",
                  keepalived_vips=["10.0.0.100/24"],
                  keepalived_group_name="ha",  # the group of today's inventories (docs/group-model.md)
                  sentinel_endpoint="10.0.0.1:26379")  # the sentinel role's fact
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for name, value in defaults.items():
        if name.startswith("keepalived_check_") and name not in values:
            values[name] = env.from_string(value).render(values) if isinstance(value, str) else value
    return env.from_string((ROLE / "templates" / "redis-vip-check.conf.j2").read_text()).render(values)


def test_defaults_give_a_plaintext_check():
    settings = vc.build_settings(vc.parse_config_text(_render()))
    assert settings["tls"] is None and settings["redis_port"] == 6379


def test_the_group_wide_switch_turns_tls_on():
    text = _render(redis_ha_tls=True, keepalived_check_tls_ca_file="/etc/ssl/redis-ha/ca.crt",
                   keepalived_check_tls_cert_file="/etc/ssl/redis-ha/check.crt",
                   keepalived_check_tls_key_file="/etc/ssl/redis-ha/check.key")
    tls = vc.build_settings(vc.parse_config_text(text))["tls"]
    assert tls == {"ca_file": "/etc/ssl/redis-ha/ca.crt", "cert_file": "/etc/ssl/redis-ha/check.crt",
                   "key_file": "/etc/ssl/redis-ha/check.key", "server_name": None, "verify_hostname": True}


def test_follow_promotion_switch_reaches_the_check():
    assert vc.build_settings(vc.parse_config_text(_render()))["follow_promotion"] is True
    off = _render(keepalived_check_follow_promotion=False)
    assert vc.build_settings(vc.parse_config_text(off))["follow_promotion"] is False
