#!/usr/bin/env bash
# The collection's documentation site, built by antsibull-docs + Sphinx from the plugin docs, the role's argument
# spec and docs/docsite (links, the workflow guide), OFFLINE: no intersphinx inventory is fetched, so references
# into other projects' documentation (ansible-core's pages, other collections) stay unresolved; any other Sphinx
# warning fails the build. Output: build/docsite/html/index.html
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH=$(tools/collection-tree.sh)
site="$here/build/docsite"
rm -rf "$site"
mkdir -p "$site"
chmod 0700 "$site"
antsibull-docs sphinx-init --use-current --dest-dir "$site" --fail-on-error fleetsec.selinux >/dev/null
# offline: no inventories (the generated conf.py would fetch four of them)
sed -i 's/^intersphinx_mapping = {/intersphinx_mapping = {}\n_online_intersphinx_mapping = {/' "$site/conf.py"
mkdir -p "$site/rst"
chmod og-w "$site/rst"
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --cleanup everything --fail-on-error --use-current \
  --dest-dir "$site/rst" fleetsec.selinux >/dev/null
sphinx-build -M html "$site/rst" "$site/build" -c "$site" -q 2> "$site/warnings.log" || { cat "$site/warnings.log"; exit 1; }
mv "$site/build/html" "$site/html"
external="undefined label: '(common_return_values|action_plugins|ansible_configuration_settings|ansible_collections\.(ansible|community)\.[a-z_]+\.[a-z_]+)'"
if grep 'WARNING' "$site/warnings.log" | grep -vE "$external"; then
  echo "docsite: Sphinx warnings other than references into other projects' documentation (above)"
  exit 1
fi
for page in index.html collections/fleetsec/selinux/index.html collections/fleetsec/selinux/docsite/guide_workflow.html \
            collections/fleetsec/selinux/local_policy_module_module.html collections/fleetsec/selinux/local_policy_role.html; do
  [ -s "$site/html/$page" ] || { echo "docsite: $page was not built"; exit 1; }
done
echo "docsite: $site/html/index.html ($(find "$site/html" -name '*.html' | wc -l) pages; $(grep -c WARNING "$site/warnings.log" || true) references into other projects left unresolved offline)"
