"""Pure unit tests of managed_file's decision (no node, no ansible-playbook): a file or directory is answered from
the node_state reading only when the reading shows exactly what the task asks for; anything it cannot tell falls
back to the builtin. The behaviour end to end: tests/functional/test_managed_file.py."""

import hashlib
import importlib.util
import pathlib

ACTION = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "action" / "managed_file.py"
_spec = importlib.util.spec_from_file_location("managed_file", ACTION)
managed_file = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(managed_file)

SHA = hashlib.sha1(b"key 1\n").hexdigest()
FILES = {
    "/etc/x.conf": {"type": "file", "owner": "root", "group": "redis", "mode": 0o640, "sha1": SHA},
    "/etc/d": {"type": "directory", "owner": "root", "group": "root", "mode": 0o2775},
    "/etc/gone": {"type": "absent"},
}


def copy(**args):
    return managed_file.copy_known(dict({"dest": "/etc/x.conf", "content": "key 1\n"}, **args), FILES, lambda s: None)


def test_same_content_and_attributes_is_known():
    assert copy(owner="root", group="redis", mode="0640")
    assert copy(mode=0o640)  # an integer mode as YAML gives it
    assert copy()  # attributes the task does not give are not compared


def test_anything_different_or_unknown_goes_to_the_builtin():
    assert not copy(content="key 2\n")
    assert not copy(mode="0644")
    assert not copy(owner="redis")
    assert not copy(mode="u=rw,g=r")  # symbolic: only the builtin can tell
    assert not copy(attributes="+i")  # an option the reading does not cover
    assert not copy(dest="/etc/other.conf")  # not read
    assert not copy(dest="/etc/d")  # a directory as dest
    assert not copy(content={"a": 1})  # the builtin serialises non-strings


def test_force_false_leaves_an_existing_file_alone_whatever_its_content():
    assert copy(content="other\n", mode="0600", force=False)
    assert not managed_file.copy_known({"dest": "/etc/gone", "content": "x", "force": False}, FILES, lambda s: None)


def test_directories_and_absent_paths():
    known = managed_file.path_known
    assert known({"path": "/etc/d", "state": "directory", "mode": "2775", "owner": "root"}, FILES)
    assert not known({"path": "/etc/d", "state": "directory", "mode": "0775"}, FILES)
    assert not known({"path": "/etc/d", "state": "directory", "recurse": True}, FILES)
    assert known({"path": "/etc/gone", "state": "absent"}, FILES)
    assert not known({"path": "/etc/x.conf", "state": "absent"}, FILES)
    assert not known({"path": "/etc/unread", "state": "absent"}, FILES)
    assert not known({"path": "/etc/d", "state": "touch"}, FILES)


def test_source_file_is_compared_by_content(tmp_path):
    source = tmp_path / "x.conf"
    source.write_bytes(b"key 1\n")
    assert managed_file.copy_known({"dest": "/etc/x.conf", "src": "x.conf"}, FILES, lambda s: str(source))
    source.write_bytes(b"key 2\n")
    assert not managed_file.copy_known({"dest": "/etc/x.conf", "src": "x.conf"}, FILES, lambda s: str(source))
