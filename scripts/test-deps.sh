#!/usr/bin/env bash
# Installs, if missing, the Debian packages roam's tests drive for real:
# openssl, gcc (cgo: the race detector, PKCS#11), AWS CLI v2 (/usr/bin/aws),
# boto3 for /usr/bin/python3, SoftHSM2 and OpenSC (PKCS#11), swtpm and
# tpm2-tools (TPM 2.0), PostgreSQL (initdb, pg_ctl).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || need+=(openssl)
have gcc || need+=(gcc)
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3)
have softhsm2-util || need+=(softhsm2)
have pkcs11-tool || need+=(opensc)
have swtpm || need+=(swtpm swtpm-tools)
have tpm2_createprimary || need+=(tpm2-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: missing ${need[*]}; install them (apt-get install ${need[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
