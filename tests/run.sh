#!/usr/bin/env bash
# The test command (README.md): installs what the tests need (moto, schemathesis,
# numpy-financial, the template tools, the OpenTelemetry SDK, the FOCUS validator, Chromium
# and its driver, axe-core), starts the AWS emulator on loopback, and runs every test of the
# workspace. Extra arguments go to `cargo test`.
#
#   bash tests/run.sh                 # everything
#   bash tests/run.sh -p roi-domain   # one crate
set -euo pipefail
cd "$(dirname "$0")/.."

# moto's server emulates DynamoDB, S3 and SES v2 for the AWS side of the conformance suite.
MOTO_VERSION=5.2.5
if ! python3 -c "import sys, moto, flask; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "installing moto[server]==$MOTO_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# schemathesis checks POST /v1/events under `roi serve` against infra/openapi.yaml.
SCHEMATHESIS_VERSION=4.32.5
if ! python3 -c "import sys, schemathesis.cli; from importlib.metadata import version; sys.exit(version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
  echo "installing schemathesis==$SCHEMATHESIS_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# numpy-financial is the oracle of the NPV and IRR of realised value (tests/it/finance.rs).
NUMPY_FINANCIAL_VERSION=1.0.0
if ! python3 -c "import sys, numpy_financial; from importlib.metadata import version; sys.exit(version('numpy-financial') != '$NUMPY_FINANCIAL_VERSION')" 2>/dev/null; then
  echo "installing numpy-financial==$NUMPY_FINANCIAL_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "numpy-financial==$NUMPY_FINANCIAL_VERSION"
fi

# The template tools, each in its own virtual environment under target/iac/ (their pins
# conflict with each other and with moto's): cfn-lint, checkov and aws-sam-translator; the
# SAM CLI for `sam validate --lint`. tests/it/template.rs runs them.
iac_venv() {  # name, the command that shows it is there, packages... ($PYTHON: the interpreter)
  local name=$1 probe=$2
  shift 2
  if [ ! -x "target/iac/$name/bin/$probe" ] || [ "$(cat "target/iac/$name/pins" 2>/dev/null)" != "$*" ]; then
    echo "installing $* into target/iac/$name" >&2
    rm -rf "target/iac/$name"
    "${PYTHON:-python3}" -m venv "target/iac/$name"
    "target/iac/$name/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$*" >"target/iac/$name/pins"
  fi
}
mkdir -p target/iac
iac_venv checkov checkov "checkov==3.3.30" "cfn-lint==1.51.0" "aws-sam-translator==1.115.0"
iac_venv sam sam "aws-sam-cli==1.170.0"
# A real OpenTelemetry client for POST /v1/traces (cli/tests/it/otlp.rs): the Python SDK
# and its OTLP/HTTP protobuf exporter, in their own environment (their protobuf pin is
# theirs).
OTEL_VERSION=1.45.2
iac_venv otel python "opentelemetry-sdk==$OTEL_VERSION" "opentelemetry-exporter-otlp-proto-http==$OTEL_VERSION"
# The FinOps Foundation's FOCUS validator checks `roi export focus` (cli/tests/it/focus.rs).
# Its 2.x line (FOCUS 1.2 rules, bundled) needs Python 3.12 or newer: the machine's pyenv
# carries one beside its default 3.11. Its own pins leave pyarrow free, and pyarrow 21 and
# later refuse the numpy below 2 it pins, hence pyarrow's.
FOCUS_VALIDATOR_VERSION=2.2.1
python_for_focus=""
for candidate in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.1[2-9]*/bin/python3 \
  /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9]; do
  if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    python_for_focus=$candidate
    break
  fi
done
if [ -z "$python_for_focus" ]; then
  echo "focus-validator $FOCUS_VALIDATOR_VERSION needs Python 3.12 or newer, and none was found" >&2
  exit 1
fi
PYTHON=$python_for_focus iac_venv focus focus-validator "focus-validator==$FOCUS_VALIDATOR_VERSION" "pyarrow<21"

# Debian's Chromium and its WebDriver for the browser tests of the self-reporting forms,
# and poppler-utils (pdftotext) for reading the reports' PDFs as text.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! command -v pdftotext >/dev/null 2>&1; then
  echo "installing chromium, chromium-driver and poppler-utils" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null
fi

# axe-core (npm) checks every console page for accessibility in Chromium
# (cli/tests/it/console.rs injects target/axe/node_modules/axe-core/axe.min.js).
AXE_VERSION=4.14.1
if [ "$(node -p "require('./target/axe/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$AXE_VERSION" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "installing npm" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
  fi
  echo "installing axe-core@$AXE_VERSION into target/axe" >&2
  mkdir -p target/axe
  npm install --silent --no-audit --no-fund --prefix target/axe "axe-core@$AXE_VERSION" >/dev/null
fi

mkdir -p target
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
export ROI_MOTO_ENDPOINT="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  if curl -sf "$ROI_MOTO_ENDPOINT/moto-api/" >/dev/null; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if ! curl -sf "$ROI_MOTO_ENDPOINT/moto-api/" >/dev/null; then
  echo "moto did not start on $ROI_MOTO_ENDPOINT; its log:" >&2
  cat target/moto.log >&2
  exit 1
fi
echo "moto $MOTO_VERSION on $ROI_MOTO_ENDPOINT" >&2

if [ "$#" -eq 0 ]; then
  cargo test --workspace
else
  cargo test "$@"
fi
