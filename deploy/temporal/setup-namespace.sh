#!/bin/sh
# Registers the Temporal namespace affrelay uses and affrelay's custom search
# attributes. Run by the one-shot temporal-setup service (temporalio/admin-tools image)
# once the server is up. The temporalio/server image, unlike the dev server and the
# auto-setup image, creates no namespace by itself.
#
# Idempotent: an existing namespace is kept as it is (its retention is not changed),
# and a search attribute already registered as Keyword counts as success; one
# registered with another type is an error. The affrelay API and workers start only
# after this has succeeded, so they never depend on registering the attributes
# themselves (only `affrelay dev` does that, against the dev server).
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-168h}"
# All of type Keyword.
# workflows.SearchAttributes: the chaos run (internal/chaos) registers exactly this list
# and fails if it differs from what the workflows set.
SEARCH_ATTRIBUTES="${AFFRELAY_SEARCH_ATTRIBUTES:-DeliveryState AffiliateID IntegrationID EventID ReconciliationBatchID PayoutState ConversionState}"

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

# Prints the type the attribute is registered with, or nothing.
registered_type() {
  temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" 2>/dev/null \
    | awk -v n="$1" '$1 == n { print $2; exit }'
}

# A new namespace takes several seconds to reach every service, so creating its search
# attributes is retried for a while.
for name in $SEARCH_ATTRIBUTES; do
  i=0
  while :; do
    existing=$(registered_type "$name")
    if [ "$existing" = Keyword ]; then
      echo "Search attribute ${name} is registered."
      break
    elif [ -n "$existing" ]; then
      echo "Search attribute ${name} is registered as ${existing}, not Keyword" >&2
      exit 1
    fi
    # Creating an attribute that exists with the same type succeeds (CLI 1.5 / server
    # 1.29); one with another type fails with "... already exists and has different type".
    if out=$(temporal operator search-attribute create --namespace "$NAMESPACE" \
      --name "$name" --type Keyword --address "$ADDRESS" 2>&1); then
      echo "Search attribute ${name} created."
      break
    fi
    case "$out" in
      *"different type"*)
        echo "Could not create search attribute ${name}: ${out}" >&2
        exit 1
        ;;
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
