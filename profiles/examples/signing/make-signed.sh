#!/usr/bin/env bash
# Re-create the signed example profile and the signed-profile test fixtures:
#   profiles/examples/signing/test-ca.pem          test CA certificate (a ProfileTrustAnchors file)
#   profiles/examples/signing/test-signer.pem      profile-signing certificate issued by it
#   profiles/examples/signed-lockdown-engineering.mobileconfig
#                                                  lockdown-engineering.mobileconfig as DER CMS
#   tests/fixtures/profiles/signed/rogue-ca.pem    an unrelated CA
#   tests/fixtures/profiles/signed/rogue-signed.mobileconfig   same profile, signed under it
#   tests/fixtures/profiles/signed/tampered.mobileconfig       the signed example with
#                                                  ClientMode 2 changed to 1 after signing
# Private keys live in a temporary directory and are deleted: nothing signed with them
# can be made again, which is the point of a TEST CA. Run from anywhere; needs openssl.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ex=profiles/examples
fx=tests/fixtures/profiles/signed
mkdir -p "$fx"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. A test CA (EC P-256, valid 100 years so the committed fixtures do not expire).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/ca.key" -out "$ex/signing/test-ca.pem" -days 36500 \
	-subj "/O=warden test/CN=warden TEST profile CA (do not trust in production)" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# 2. A signing certificate issued by that CA (codeSigning EKU, as MDM vendors use).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/signer.key" -out "$tmp/signer.csr" \
	-subj "/O=warden test/CN=warden TEST profile signer"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$tmp/signer.ext"
openssl x509 -req -in "$tmp/signer.csr" -CA "$ex/signing/test-ca.pem" -CAkey "$tmp/ca.key" \
	-set_serial 2 -days 36500 -extfile "$tmp/signer.ext" -out "$ex/signing/test-signer.pem"

# 3. Sign the profile: DER CMS SignedData with the content embedded (-nodetach), no
#    MIME canonicalisation (-binary), the signer certificate included.
openssl cms -sign -binary -nodetach -outform DER \
	-in "$ex/lockdown-engineering.mobileconfig" \
	-signer "$ex/signing/test-signer.pem" -inkey "$tmp/signer.key" \
	-out "$ex/signed-lockdown-engineering.mobileconfig"

# 4. Check it the way warden does.
openssl cms -verify -binary -inform DER -purpose any -CAfile "$ex/signing/test-ca.pem" \
	-in "$ex/signed-lockdown-engineering.mobileconfig" -out /dev/null

# 5. Test fixtures: a rogue CA and the same profile signed under it; and the genuine
#    signed profile with one byte of content changed (LOCKDOWN -> MONITOR downgrade).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/rogue-ca.key" -out "$fx/rogue-ca.pem" -days 36500 \
	-subj "/O=rogue/CN=rogue CA" -addext "basicConstraints=critical,CA:TRUE"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/rogue.key" -out "$tmp/rogue.csr" -subj "/O=rogue/CN=rogue signer"
openssl x509 -req -in "$tmp/rogue.csr" -CA "$fx/rogue-ca.pem" -CAkey "$tmp/rogue-ca.key" \
	-set_serial 7 -days 36500 -extfile "$tmp/signer.ext" -out "$tmp/rogue.pem"
openssl cms -sign -binary -nodetach -outform DER -in "$ex/lockdown-engineering.mobileconfig" \
	-signer "$tmp/rogue.pem" -inkey "$tmp/rogue.key" -out "$fx/rogue-signed.mobileconfig"
perl -0777 -pe 's{<key>ClientMode</key>(\s*)<integer>2</integer>}{<key>ClientMode</key>$1<integer>1</integer>}' \
	"$ex/signed-lockdown-engineering.mobileconfig" >"$fx/tampered.mobileconfig"
cmp -s "$ex/signed-lockdown-engineering.mobileconfig" "$fx/tampered.mobileconfig" &&
	{ echo "make-signed.sh: tampering changed nothing" >&2; exit 1; }
echo "signed profile and fixtures written"
