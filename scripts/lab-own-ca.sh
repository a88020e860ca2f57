#!/usr/bin/env bash
# Certificates an operator brings (redis_ha_tls_certificates: provided), made with the openssl CLI the way a
# small private CA would make them; the lab uses them with REDIS_HA_TLS=own-ca (molecule/default/prepare.yml,
# tools/drill.py rotate-certs) and they show what the roles need from your own CA:
#   - each node: a certificate for its name, its announce address, 127.0.0.1 (the roles and the check connect
#     to the local server there) and the VIPs (clients connect to them), usable as server AND client
#     certificate (Redis and Sentinel present it on their own links);
#   - clients, with redis_ha_tls_auth_clients yes: a certificate signed by the same CA (lab-client here).
# Usage: lab-own-ca.sh DIR VIP[,VIP...] NAME=ADDRESS...
# Keeps what exists in DIR; issues what is missing (delete a node's .crt to re-issue it: a rotation).
set -euo pipefail

dir=$1 vips=$2
shift 2
mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
umask 077

new_key() {  # FILE
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [[ ! -s ca.crt ]]; then
    new_key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=redis_ha lab own CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.crt
    chmod 0644 ca.crt
    echo "issued ca.crt"
fi

issue() {  # NAME SUBJECT-ALT-NAMES EXTENDED-KEY-USAGE
    local name=$1 sans=$2 eku=$3
    [[ -s $name.crt ]] && return 0
    [[ -s $name.key ]] || new_key "$name.key"
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nkeyUsage=critical,digitalSignature\n' "$sans" "$eku" \
        > "$name.ext"
    openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 825 \
        -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    chmod 0644 "$name.crt"
    echo "issued $name.crt"
}

vip_sans=""
IFS=, read -ra vip_list <<< "$vips"
for vip in "${vip_list[@]}"; do
    vip_sans+=",IP:${vip%%/*}"
done
for node in "$@"; do
    name=${node%%=*} address=${node#*=}
    issue "$name" "DNS:$name,IP:$address,IP:127.0.0.1$vip_sans" "serverAuth,clientAuth"
done
issue lab-client "DNS:lab-client" "clientAuth"
