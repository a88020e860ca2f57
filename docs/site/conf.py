# Sphinx configuration of the docs site (docs/site/build.py copies it into build/docs/rst; antsibull-docs
# writes the plugin and role pages there, myst-parser reads the Markdown guides). No intersphinx: the build
# makes no network access; labels of the Ansible docs the generated pages use are in ansible_labels.rst.
project = "redis_ha.sentinel_vip"
copyright = "redis_ha maintainers"  # pylint: disable=redefined-builtin
title = html_short_title = "redis_ha.sentinel_vip"
extensions = ["sphinx_antsibull_ext", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 4
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
nitpicky = True
