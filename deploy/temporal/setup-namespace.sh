#!/bin/sh
# Registers the Temporal namespace affrelay uses and affrelay's custom search
# attributes. Run by the one-shot temporal-setup service (temporalio/admin-tools image)
# once the server is up. The temporalio/server image, unlike the dev server and the
# auto-setup image, creates no namespace by itself.
#
# Idempotent: an existing namespace is kept as it is (its retention is not changed),
# and an already registered search attribute counts as success. The affrelay worker
# also registers the search attributes when it starts; this is the belt to its braces.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-168h}"
# All of type Keyword.
SEARCH_ATTRIBUTES="${AFFRELAY_SEARCH_ATTRIBUTES:-DeliveryState AffiliateID IntegrationID EventID}"

# Give the CLI an IPv4 address rather than the service name, as the upstream
# create-namespace script does (it works around name resolution trouble in the CLI).
host=${ADDRESS%:*}
port=${ADDRESS##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }' || true)
if [ -n "$ip" ]; then
  ADDRESS="${ip}:${port}"
fi

echo "Waiting for the Temporal frontend at ${ADDRESS}..."
i=0
until temporal operator cluster health --address "$ADDRESS" 2>/dev/null | grep -q SERVING; do
  i=$((i + 1))
  if [ "$i" -ge 90 ]; then
    echo "Temporal did not report SERVING within about 3 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "Namespace ${NAMESPACE} already exists."
else
  echo "Creating namespace ${NAMESPACE} (retention ${RETENTION})..."
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
fi

registered() {
  temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" 2>/dev/null \
    | grep -qw "$1"
}

# A new namespace takes several seconds to reach every service, so creating its search
# attributes is retried for a while.
for name in $SEARCH_ATTRIBUTES; do
  i=0
  while :; do
    if registered "$name"; then
      echo "Search attribute ${name} is registered."
      break
    fi
    if out=$(temporal operator search-attribute create --namespace "$NAMESPACE" \
      --name "$name" --type Keyword --address "$ADDRESS" 2>&1); then
      echo "Search attribute ${name} created."
      break
    fi
    case "$out" in
      *[Aa]lready*exist*)
        echo "Search attribute ${name} already exists."
        break
        ;;
    esac
    i=$((i + 1))
    if [ "$i" -ge 30 ]; then
      echo "Could not create search attribute ${name}: ${out}" >&2
      exit 1
    fi
    sleep 2
  done
done

echo "Namespace ${NAMESPACE} is ready for affrelay."
