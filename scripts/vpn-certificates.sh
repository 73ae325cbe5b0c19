#!/usr/bin/env bash
# Certificates for the AWS Client VPN endpoint (mutual TLS), made with openssl and imported to ACM.
#
#   scripts/vpn-certificates.sh init            # CA, server certificate, first client certificate;
#                                               # imports server and client certificates to ACM and
#                                               # prints the two ARNs for `cdk deploy -c ...`
#   scripts/vpn-certificates.sh client NAME     # one more staff certificate, signed by the same CA
#   scripts/vpn-certificates.sh revoke NAME     # revoke it and write the CRL to upload (see below)
#
# Environment:
#   VPN_PKI_DIR   where keys and certificates live (default: ~/.logger-app/vpn-pki). Never inside the
#                 repository: the CA key signs every staff certificate; keep it offline or in a vault.
#   AWS_REGION    the region of the Client VPN endpoint (the ACM certificates must be there too).
#   NO_IMPORT=1   only create files; skip the ACM import (e.g. to inspect them first).
#
# Client VPN accepts RSA 2048-bit certificates; the server certificate needs a domain name (any
# name: clients do not resolve it). After `revoke`, upload the CRL with:
#   aws ec2 import-client-vpn-client-certificate-revocation-list \
#     --client-vpn-endpoint-id <cvpn-endpoint-id> --certificate-revocation-list file://<crl.pem>
set -euo pipefail

PKI="${VPN_PKI_DIR:-$HOME/.logger-app/vpn-pki}"
DAYS_CA=3650
DAYS_CERT=825
SERVER_NAME="server.vpn.logger-app.internal"

die() { echo "vpn-certificates: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }

ca_config() {
  cat <<CONF
[ca]
default_ca = logger_app_ca
[logger_app_ca]
dir = $PKI
database = $PKI/index.txt
new_certs_dir = $PKI/issued
certificate = $PKI/ca.crt
private_key = $PKI/private/ca.key
serial = $PKI/serial
crlnumber = $PKI/crlnumber
default_md = sha256
default_crl_days = 180
policy = policy_any
copy_extensions = copy
[policy_any]
commonName = supplied
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$SERVER_NAME
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CONF
}

issue() { # issue NAME EXTENSION
  local name="$1" ext="$2"
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "name must be letters, digits, '.', '_' or '-'"
  [[ -e "$PKI/issued/$name.crt" ]] && die "$name already exists in $PKI/issued"
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$name" \
    -keyout "$PKI/private/$name.key" -out "$PKI/reqs/$name.csr" 2>/dev/null
  chmod 600 "$PKI/private/$name.key"
  openssl ca -batch -config <(ca_config) -extensions "$ext" -days "$DAYS_CERT" \
    -in "$PKI/reqs/$name.csr" -out "$PKI/issued/$name.crt" 2>/dev/null
  echo "issued $PKI/issued/$name.crt (key: $PKI/private/$name.key)"
}

import_acm() { # import_acm NAME -> prints the certificate ARN
  local name="$1"
  aws acm import-certificate \
    --certificate "fileb://$PKI/issued/$name.crt" \
    --private-key "fileb://$PKI/private/$name.key" \
    --certificate-chain "fileb://$PKI/ca.crt" \
    --tags Key=project,Value=logger-app \
    --query CertificateArn --output text
}

cmd_init() {
  [[ -e "$PKI/ca.crt" ]] && die "$PKI already holds a CA; use 'client NAME' to add staff"
  mkdir -p "$PKI"/{private,issued,reqs}
  chmod 700 "$PKI" "$PKI/private"
  : >"$PKI/index.txt"
  echo 1000 >"$PKI/serial"
  echo 1000 >"$PKI/crlnumber"
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$DAYS_CA" \
    -subj "/CN=logger-app Client VPN CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI/private/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  chmod 600 "$PKI/private/ca.key"
  echo "created CA $PKI/ca.crt"
  issue server server_ext
  issue client1 client_ext
  if [[ "${NO_IMPORT:-}" == "1" ]]; then
    echo "NO_IMPORT=1: skipped the ACM import"
    return
  fi
  need aws
  local server_arn client_arn
  server_arn="$(import_acm server)"
  # Client VPN validates staff certificates against this certificate's chain (the same CA).
  client_arn="$(import_acm client1)"
  cat <<OUT

Pass these to the CDK app (context or environment):
  -c vpnServerCertificateArn=$server_arn
  -c vpnClientCertificateArn=$client_arn
OUT
}

cmd_client() {
  [[ $# -eq 1 ]] || die "usage: $0 client NAME"
  [[ -e "$PKI/ca.crt" ]] || die "no CA in $PKI: run '$0 init' first"
  issue "$1" client_ext
  echo "Give $1 the .crt and .key over a secure channel, with the endpoint's configuration file"
  echo "(aws ec2 export-client-vpn-client-configuration); see docs/deployment.md."
}

cmd_revoke() {
  [[ $# -eq 1 ]] || die "usage: $0 revoke NAME"
  [[ -e "$PKI/issued/$1.crt" ]] || die "no certificate $1 in $PKI/issued"
  openssl ca -config <(ca_config) -revoke "$PKI/issued/$1.crt" 2>/dev/null
  openssl ca -config <(ca_config) -gencrl -out "$PKI/crl.pem" 2>/dev/null
  echo "revoked $1; upload $PKI/crl.pem to the endpoint (see the header of this script)"
}

need openssl
case "${1:-}" in
  init) shift; cmd_init "$@" ;;
  client) shift; cmd_client "$@" ;;
  revoke) shift; cmd_revoke "$@" ;;
  *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
