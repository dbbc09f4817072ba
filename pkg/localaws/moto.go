// Package localaws runs and prepares the local AWS that the local stack and the tests talk to:
// a moto server on a loopback port, an aws.Config that reaches it, and the table, KMS key and
// SES identity that template.yaml would create in a real account.
package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// motoLauncher starts moto's server with DynamoDB requests serialised.
//
// Why: moto_server is a threaded werkzeug server and moto's DynamoDB backend takes no lock, so
// two concurrent conditional writes (attribute_not_exists, version checks) can both pass their
// condition before either writes, and concurrent TransactWriteItems, which moto undoes by
// restoring deep copies of whole tables, leave cancelled transactions' items behind. Real
// DynamoDB serialises writes to an item and makes transactions all-or-nothing, and the service
// relies on both (single-use codes, TOTP steps, failure counters). Under Python's GIL a bare
// moto gets it wrong only now and then, which makes for rare, unreproducible test failures
// (see race_test.go). One process-wide lock around every DynamoDB action restores the
// guarantees; other services stay concurrent.
//
// Inside that lock, a TransactWriteItems keeps an undo log of the items it names instead of
// moto's deep copy of the whole table, made once per item of the transaction. The copy costs
// about 70 µs per item in the table, so a transaction on a table of a few thousand items took
// a second, with every DynamoDB call queued behind it, and a soak (infra/local TestSoak)
// stalled within a minute; each copy also stays in moto's data.json, which /local/outbox
// reads. With the lock no other action runs in between, so putting back the before-images of
// the named items on failure undoes exactly what the deep copy undid.
//
// And a Query of the table (not of an index) looks only at the queried partition: moto sorts
// every item of the table on each Query and then keeps the partition's, so each of the
// service's reads got slower with every user any test ever made. The results are the same;
// moto still sorts, filters, pages and copies them.
//
// A cancelled transaction leaves nothing in the table's stream either: moto applies the items
// of a transaction one by one (streaming each) before it finds a failed condition, so the undo
// log also cuts the stream back to where it was, and stream reads (dynamodbstreams) take the
// same lock, so that nobody reads a record of a transaction that is then undone. Real DynamoDB
// streams only what a transaction committed; the event publisher relies on it.
//
// A TransactWriteItems with a ClientRequestToken (the SDK fills one in for every call, and
// sends it again on its retries) is idempotent for ten minutes, as in DynamoDB: the same token
// with the same items answers what the first call answered and changes nothing. moto ignores
// the token, so an SDK retry of a transaction that had gone through (a connection that broke
// while its answer was read) failed its own conditions.
//
// EventBridge's delivery to a rule's targets parses the default input paths with jsonpath_ng
// for every event and target, and jsonpath_ng builds its parser tables on each parse: half a
// second per event. The parses are cached; each expression parses to the same tree.
//
// It also exits when its parent goes away (the parent pid changes once it is re-parented),
// so a test binary that panics, times out or is killed never leaves a server holding a port.
//
// It is run with `python3 -c`, so no file has to be found on disk, and exits with status 3
// when moto cannot be imported so that StartMoto can say what to install.
const motoLauncher = `
import os, sys, threading, time
try:
    import copy
    import json
    import inspect
    import moto.server
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
except ImportError as e:
    sys.stderr.write("localaws: cannot import moto: %s\n" % e)
    sys.exit(3)

_parent = os.getppid()

def _exit_with_parent():
    while os.getppid() == _parent:
        time.sleep(0.5)
    os._exit(0)

threading.Thread(target=_exit_with_parent, daemon=True).start()

_lock = threading.Lock()
_call_action = DynamoHandler.call_action

def _serialised_call_action(self):
    with _lock:
        return _call_action(self)

DynamoHandler.call_action = _serialised_call_action

_in_transaction = threading.local()

class _CopyKeepingTablesInTransactions:
    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        if isinstance(x, Table) and getattr(_in_transaction, "on", False):
            return x  # the undo log below replaces moto's backup of the whole table
        return copy.deepcopy(x, memo)

dynamodb_models.copy = _CopyKeepingTablesInTransactions()
_transact_write_items = DynamoDBBackend.transact_write_items

def _undo_logged_transact_write_items(self, transact_items):
    before = {}
    streamed = {}
    for entry in transact_items:
        for op in entry.values():
            try:
                table = self.get_table(op["TableName"])
                attrs = op["Item"] if "Item" in op else op["Key"]
                h = DynamoType(attrs[table.hash_key_attr])
                r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                if (table.name, h, r) not in before:
                    before[(table.name, h, r)] = (table, h, r, copy.deepcopy(table.get_item(h, r)))
                if table.stream_shard is not None and table.name not in streamed:
                    streamed[table.name] = (table.stream_shard, len(table.stream_shard.items))
            except Exception:
                pass  # malformed: moto refuses the transaction, and this operation wrote nothing
    _in_transaction.on = True
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        for table, h, r, item in before.values():
            if r is None:
                table.items.pop(h, None)
                if item is not None:
                    table.items[h] = item
            else:
                if h in table.items:
                    table.items[h].pop(r, None)
                if item is not None:
                    table.items[h][r] = item
        for shard, n in streamed.values():
            del shard.items[n:]
        raise
    finally:
        _in_transaction.on = False

DynamoDBBackend.transact_write_items = _undo_logged_transact_write_items

_transact_handler = DynamoHandler.transact_write_items
_client_tokens = {}

def _idempotent_transact_write_items(self):
    token = self.body.get("ClientRequestToken")
    if not token:
        return _transact_handler(self)
    now = time.time()
    for old in [k for k, v in _client_tokens.items() if now - v[0] > 600]:
        del _client_tokens[old]
    # The items, whatever the order of their attributes (DynamoDB compares the request).
    items = json.dumps(self.body.get("TransactItems"), sort_keys=True,
                       default=lambda v: v.hex() if isinstance(v, (bytes, bytearray)) else str(v))
    seen = _client_tokens.get(token)
    if seen is not None and seen[1] == items:
        return seen[2]
    result = _transact_handler(self)
    _client_tokens[token] = (now, items, result)
    return result

DynamoHandler.transact_write_items = _idempotent_transact_write_items

_query = Table.query
_query_params = inspect.signature(_query)

def _partition_query(self, *args, **kwargs):
    bound = _query_params.bind(self, *args, **kwargs)
    hash_key = bound.arguments.get("hash_key")
    if bound.arguments.get("index_name") or hash_key is None or not self.range_key_attr:
        return _query(self, *args, **kwargs)
    partition = list(self.items[hash_key].values()) if hash_key in self.items else []
    self.all_items = lambda: partition
    try:
        return _query(self, *args, **kwargs)
    finally:
        del self.all_items

Table.query = _partition_query

try:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    _streams_call_action = DynamoDBStreamsHandler.call_action

    def _serialised_streams_call_action(self):
        with _lock:
            return _streams_call_action(self)

    DynamoDBStreamsHandler.call_action = _serialised_streams_call_action
except ImportError:
    pass

try:
    import functools
    import jsonpath_ng.ext
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
except ImportError:
    pass
moto.server.main(sys.argv[1:])
`

// exitNoMoto is the launcher's exit status when moto is not importable.
const exitNoMoto = 3

const (
	readyTimeout = 20 * time.Second
	stopGrace    = 3 * time.Second
)

// Moto is a running moto server, the child process of this one.
type Moto struct {
	endpoint string
	cmd      *exec.Cmd
	log      *os.File // moto's output, already unlinked: read for error messages only

	done    chan struct{} // closed once the process has been reaped
	waitErr error         // the process's exit error, valid after done

	stopOnce sync.Once
	stopErr  error
}

// StartMoto starts moto on host:port and returns once it answers HTTP. host must be a loopback
// address ("" means 127.0.0.1): moto has no authentication, so it must never listen on a
// network. Port 0 picks a free port. ctx bounds the start-up only; the server runs until Stop.
func StartMoto(ctx context.Context, host string, port int) (*Moto, error) {
	host, err := loopbackHost(host)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("python3"); err != nil {
		return nil, errors.New("localaws: python3 is not on PATH; install Python 3, then run `make tools` to install moto")
	}
	if port != 0 {
		return startMoto(ctx, host, port, motoLauncher)
	}
	// A picked port can be taken by someone else before moto binds it; try a few.
	for attempt := 1; ; attempt++ {
		p, err := freePort(host)
		if err != nil {
			return nil, err
		}
		m, err := startMoto(ctx, host, p, motoLauncher)
		if err == nil || attempt == 3 || !errors.Is(err, errPortInUse) {
			return m, err
		}
	}
}

var errPortInUse = errors.New("port in use")

// startMoto runs script (the launcher; tests may prepend to it) as moto on host:port.
func startMoto(ctx context.Context, host string, port int, script string) (*Moto, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	// Refuse a port something else already serves: the readiness probe would
	// otherwise happily talk to that server instead of ours.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localaws: cannot start moto on %s: %w (%v)", addr, errPortInUse, err)
	}
	l.Close()

	// The log is unlinked at once, so nothing is left in the temp directory however this
	// process ends; the child writes to it and we read its tail through our descriptor.
	logFile, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, fmt.Errorf("localaws: moto log file: %w", err)
	}
	os.Remove(logFile.Name())
	cmd := exec.Command("python3", "-c", script, "-H", host, "-p", strconv.Itoa(port))
	cmd.Env = motoEnv(port)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("localaws: start moto: %w", err)
	}

	m := &Moto{
		endpoint: "http://" + addr,
		cmd:      cmd,
		log:      logFile,
		done:     make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()

	if err := m.waitReady(ctx); err != nil {
		tail := m.logTail()
		m.Stop()
		if code := m.cmd.ProcessState.ExitCode(); code == exitNoMoto {
			return nil, fmt.Errorf("localaws: moto is not installed for python3 (%s); run `make tools`", strings.TrimSpace(tail))
		}
		if strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return nil, fmt.Errorf("localaws: moto on %s did not come up: %w\n--- moto log (tail) ---\n%s", addr, err, tail)
	}
	return m, nil
}

// motoEnv is this process's environment minus every AWS_* variable, plus moto's port.
// moto uses botocore inside, so the developer's real AWS settings would leak into the fake:
// an AWS_PROFILE that botocore cannot find, for one, turns every request into a 500.
// moto builds some URLs (SQS queues, presigned links) from MOTO_PORT, so that must name the
// port actually served even when the caller's environment carries another.
func motoEnv(port int) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "MOTO_PORT=") {
			env = append(env, kv)
		}
	}
	return append(env, "MOTO_PORT="+strconv.Itoa(port), "PYTHONUNBUFFERED=1")
}

// waitReady polls moto's own API until it answers, the process dies, or time runs out.
func (m *Moto) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+"/moto-api/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.done:
			return fmt.Errorf("process exited: %v", m.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no answer from /moto-api/: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Endpoint is moto's base URL, e.g. http://127.0.0.1:4566.
func (m *Moto) Endpoint() string { return m.endpoint }

// Stop ends moto and every process it started: SIGTERM to its process group, then SIGKILL
// if it has not exited after a short grace period. No signal is sent once the process has
// been reaped: its pid, and so the group id, may belong to someone else by then. Stop is
// safe to call more than once and from several goroutines; it reports an error if moto had
// already died on its own.
func (m *Moto) Stop() error {
	m.stopOnce.Do(func() {
		select {
		case <-m.done:
			if m.waitErr != nil {
				m.stopErr = fmt.Errorf("localaws: moto exited before Stop: %v\n--- moto log (tail) ---\n%s", m.waitErr, m.logTail())
			}
		default:
			terminate(m.cmd)
			select {
			case <-m.done:
			case <-time.After(stopGrace):
				kill(m.cmd)
				<-m.done
			}
		}
		m.log.Close()
	})
	return m.stopErr
}

// Freeze suspends moto (SIGSTOP to its process group): connections are still accepted, but no
// request is answered until Thaw, the way a hung store behaves. Tests use it to show that the
// service fails closed, in time, when its store hangs.
func (m *Moto) Freeze() error {
	select {
	case <-m.done:
		return errors.New("localaws: moto is not running")
	default:
	}
	return freeze(m.cmd)
}

// Thaw resumes a frozen moto (SIGCONT).
func (m *Moto) Thaw() error {
	select {
	case <-m.done:
		return errors.New("localaws: moto is not running")
	default:
	}
	return thaw(m.cmd)
}

// Wait blocks until the moto process has exited (after Stop, or on its own) and returns
// its exit error, as exec.Cmd.Wait reports it.
func (m *Moto) Wait() error {
	<-m.done
	return m.waitErr
}

// logTail returns the last few KB of moto's output, for error messages.
func (m *Moto) logTail() string {
	const tailSize = 4 << 10
	fi, err := m.log.Stat()
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	off := max(fi.Size()-tailSize, 0)
	b := make([]byte, fi.Size()-off)
	n, err := m.log.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(no log: %v)", err)
	}
	b = b[:n]
	if off > 0 { // start at a whole line
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// loopbackHost validates host and normalises the empty host and "localhost" to 127.0.0.1.
func loopbackHost(host string) (string, error) {
	if host == "" || host == "localhost" {
		return "127.0.0.1", nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("localaws: moto must bind a loopback address, not %q", host)
	}
	return ip.String(), nil
}

// freePort asks the kernel for a currently unused port on host.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("localaws: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
