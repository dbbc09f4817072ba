// Command bench is `make bench`: the performance report of DESIGN §8.
//
//  1. Hot handlers benchmarked in-process (testing.Benchmark) against a moto it starts:
//     ns/op, B/op, allocs/op, and handler CPU excluding AWS time (SDK middleware times every
//     call; the handler's wall time minus that).
//  2. DynamoDB round trips and request units per operation, counted by SDK middleware that
//     also asks for ReturnConsumedCapacity=TOTAL; KMS calls on warm requests.
//  3. Binary sizes of every function of the Makefile's FUNCTIONS, as `make build` builds them.
//  4. Cold starts: each function's real bootstrap, built for this machine with the same flags,
//     run against a local Lambda Runtime API (runtimeapi) and moto; start to first response.
//  5. Estimated cost per 1M operations per route, from the measured calls and list prices.
//
// It prints a table of every budget with OK/OVER, writes build/bench/report.json, and exits
// non-zero when a round-trip or size budget is exceeded (or, with -strict, any budget).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mfa-service/mfa/pkg/dynamoclient"
	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/emf"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

type options struct {
	functions string
	build     bool
	benchtime string
	coldRuns  int
	compare   string
	out       string
	strict    bool
	skip      string
	profile   string
	memprof   string
	cases     string
}

func main() {
	testing.Init() // testing.Benchmark reads -test.benchtime
	var o options
	flag.StringVar(&o.functions, "functions", "", `the Makefile's FUNCTIONS ("LogicalId:dir …"); default: read from ./Makefile`)
	flag.BoolVar(&o.build, "build", true, "run `make build` first (make bench has done it already and passes -build=false)")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "testing benchtime of each handler benchmark (a duration, or Nx)")
	flag.IntVar(&o.coldRuns, "coldstart-runs", 5, "measured cold starts per function (after one unmeasured)")
	flag.StringVar(&o.compare, "coldstart-compare", "", "a `dir`ectory of other host builds of the functions (dir/<function>, e.g. from CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dir/ ./functions/... on another tree or go.mod), cold-started alternately with the tree's")
	flag.StringVar(&o.out, "out", filepath.Join("build", "bench", "report.json"), "where to write the JSON report")
	flag.BoolVar(&o.strict, "strict", false, "also fail on timing budgets (handler CPU, cold start), not only round trips and sizes")
	flag.StringVar(&o.skip, "skip", "", "comma-separated sections to skip: sizes, coldstart, handlers")
	flag.StringVar(&o.cases, "cases", "", "only the handler cases whose name matches this regexp")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the handler benchmarks to this file")
	flag.StringVar(&o.memprof, "memprofile", "", "write an allocation profile of the handler benchmarks to this file (every 4 KB sampled)")
	flag.Parse()
	if err := flag.Set("test.benchtime", o.benchtime); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -benchtime %q: %v\n", o.benchtime, err)
		os.Exit(2)
	}
	os.Exit(run(o))
}

var startedAt = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench [%5.1fs]: "+format+"\n", append([]any{time.Since(startedAt).Seconds()}, args...)...)
}

func run(o options) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	started := time.Now()
	skip := map[string]bool{}
	for _, s := range strings.Split(o.skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			skip[s] = true
		}
	}

	root, err := findRoot()
	if err != nil {
		logf("%v", err)
		return 2
	}
	if err := os.Chdir(root); err != nil {
		logf("%v", err)
		return 2
	}
	var fns []function
	if o.functions != "" {
		fns, err = parseFunctions(o.functions)
	} else {
		fns, err = functionsFromMakefile(filepath.Join(root, "Makefile"))
	}
	if err != nil {
		logf("%v", err)
		return 2
	}

	r := &Report{
		GeneratedAt: time.Now().UTC().Format(time.RFC3339),
		Host:        HostInfo{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: cpuModel(), LoadAvg: loadAvg()},
		Settings:    Settings{Benchtime: o.benchtime, ColdStartRuns: o.coldRuns, Strict: o.strict, ColdStartBuild: runtime.GOOS + "/" + runtime.GOARCH + ", lambda.norpc, -trimpath, -s -w, CGO_ENABLED=0"},
	}
	fatal := func(err error) int {
		logf("FAILED: %v", err)
		return 2
	}

	// 3. Binary sizes, before anything else runs on the CPU.
	if !skip["sizes"] {
		if o.build {
			logf("make build (linux/arm64)…")
			if err := makeBuild(ctx, root); err != nil {
				return fatal(err)
			}
		}
		if r.Sizes, err = binarySizes(root, fns); err != nil {
			return fatal(err)
		}
	}
	var hostBins map[string]string
	if !skip["coldstart"] {
		logf("building the functions for %s/%s (cold starts)…", runtime.GOOS, runtime.GOARCH)
		if hostBins, err = buildHost(ctx, root, filepath.Join("build", "bench", "host"), fns); err != nil {
			return fatal(err)
		}
	}

	// The AWS of the benchmarks: moto, with the table, key and sender of the template.
	logf("starting moto…")
	moto, err := localaws.StartMoto(ctx, "127.0.0.1", 0)
	if err != nil {
		return fatal(err)
	}
	defer moto.Stop()
	endpoint := moto.Endpoint()
	r.Host.Moto = motoVersion(ctx)
	awsCfg, err := localaws.AWSConfig(ctx, endpoint)
	if err != nil {
		return fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return fatal(err)
	}
	res, err := localaws.Bootstrap(ctx, awsCfg, tpl, localaws.Names{Table: "mfa-bench", KeyAlias: "alias/mfa-bench", SenderEmail: "mfa@example.com"})
	if err != nil {
		return fatal(err)
	}
	// The in-process app reads its configuration as a function does, from the environment.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": localaws.Region, "AWS_EC2_METADATA_DISABLED": "true",
		"TABLE_NAME": res.TableName, "KMS_KEY_ID": res.KeyArn, "EMAIL_SENDER": res.SenderEmail,
		"WEBAUTHN_RP_ID": rpID, "WEBAUTHN_ORIGINS": rpOrigin, "LOG_LEVEL": "INFO",
	} {
		os.Setenv(k, v)
	}
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		return fatal(err)
	}
	// The first container creates the data key and the signing key; every later one finds them.
	seeded, err := app.New(ctx, cfg, fullstack.Options()...)
	if err != nil {
		return fatal(err)
	}
	// It also makes the verify cold starts' sign-ins (verifyColdStartEvent): quietly.
	quiet := httpapi.NewLogger(io.Discard, cfg.LogLevel)
	seeded.Log, seeded.API.Log, seeded.Core.Log = quiet, quiet, quiet

	// 4. Cold starts, while the table is still small.
	if !skip["coldstart"] {
		home, err := os.MkdirTemp("", "bench-home-")
		if err != nil {
			return fatal(err)
		}
		defer os.RemoveAll(home)
		routes, err := tpl.Routes()
		if err != nil {
			return fatal(err)
		}
		proxy, err := startAWSProxy(endpoint)
		if err != nil {
			return fatal(err)
		}
		defer proxy.Close()
		flushWrites()
		for _, fn := range fns {
			logf("cold start: %s…", fn.Dir)
			var prepare *eventMaker
			switch fn.Dir {
			case "verify":
				prepare = verifyColdStartEvent(seeded)
			case "cognito-verify":
				sample, err := os.ReadFile(filepath.Join(root, "events", coldStartEvents[fn.Dir]))
				if err != nil {
					return fatal(err)
				}
				prepare = cognitoVerifyColdStartEvent(seeded, sample)
			}
			compare := ""
			if o.compare != "" {
				compare = filepath.Join(o.compare, fn.Dir)
			}
			c := coldStart(ctx, root, fn, routes, hostBins[fn.Dir], functionEnv(fn, endpoint, res, home), functionEnv(fn, proxy.URL(), res, home), proxy, o.coldRuns, prepare, compare)
			r.ColdStarts = append(r.ColdStarts, c)
		}
	}

	// 1, 2. Handlers in-process.
	if !skip["handlers"] {
		if o.profile != "" {
			pf, err := os.Create(o.profile)
			if err != nil {
				return fatal(err)
			}
			if err := pprof.StartCPUProfile(pf); err != nil {
				return fatal(err)
			}
			defer pf.Close()
		}
		filter, err := regexp.Compile(o.cases)
		if err != nil {
			return fatal(fmt.Errorf("-cases: %w", err))
		}
		if o.memprof != "" {
			runtime.MemProfileRate = 4096
		}
		streams, err := benchHandlers(ctx, cfg, awsCfg, tpl, filter, r)
		if o.profile != "" {
			pprof.StopCPUProfile()
		}
		if o.memprof != "" {
			if perr := writeHeapProfile(o.memprof); perr != nil {
				return fatal(perr)
			}
		}
		if err != nil {
			return fatal(err)
		}
		a, err := assumptionsFor(tpl)
		if err != nil {
			return fatal(err)
		}
		a.WriterLogBytes, a.PublisherLogBytes = streams.logBytes()
		r.Cost = buildCost(r.Handlers, a)
	}

	r.evaluate(o.strict)
	r.render(os.Stdout)
	if err := r.write(o.out); err != nil {
		return fatal(err)
	}
	fmt.Printf("\nReport written to %s (%s).\n", o.out, time.Since(started).Round(time.Second))
	if r.Failed {
		fmt.Fprintln(os.Stderr, "\n"+strings.Repeat("!", 78))
		fmt.Fprintln(os.Stderr, "!! BENCH FAILED: a round-trip budget is exceeded or a measurement failed")
		for _, f := range r.Failures {
			fmt.Fprintln(os.Stderr, "!!   "+f)
		}
		fmt.Fprintln(os.Stderr, strings.Repeat("!", 78))
		return 1
	}
	return 0
}

// benchHandlers runs every case on its own table (moto copies a whole table for every
// transaction, so a table that grows slows everything after it), each with a freshly wired,
// metered app, as a warm container would be.
func benchHandlers(ctx context.Context, cfg app.Config, awsCfg aws.Config, tpl *samtemplate.Template, filter *regexp.Regexp, r *Report) (*streamFunctions, error) {
	m := newMeter()
	// What a cold start does once the keys exist (they do, in cfg's table).
	if _, err := app.New(ctx, cfg, append(fullstack.Options(), app.WithAPIOptions(m.middleware))...); err != nil {
		return nil, err
	}
	r.InitCalls = m.snapshot()

	spec, err := tpl.Table(localaws.TableLogicalID)
	if err != nil {
		return nil, err
	}
	tables := dynamodb.NewFromConfig(awsCfg) // the SDK's, which creates tables
	db, err := dynamoclient.New(awsCfg)
	if err != nil {
		return nil, err
	}
	bridge, err := eventsclient.New(awsCfg)
	if err != nil {
		return nil, err
	}
	streams := &streamFunctions{db: db, bridge: bridge, level: cfg.LogLevel}
	for i, c := range cases() {
		if !filter.MatchString(c.Name) {
			continue
		}
		logf("handlers: %s…", c.Name)
		caseCfg := cfg
		caseCfg.TableName = fmt.Sprintf("%s-h%d", cfg.TableName, i)
		if err := localaws.CreateTable(ctx, tables, caseCfg.TableName, spec); err != nil {
			return nil, err
		}
		f, err := newFixture(ctx, caseCfg, m)
		if err != nil {
			return nil, err
		}
		if f.events, err = newStreamFilter(tpl); err != nil {
			return nil, err
		}
		f.indexes = indexWriter{db: db, table: caseCfg.TableName, indexes: spec.GlobalSecondaryIndexes}
		f.streams = streams
		kms := m.count("KMS") // after this container's cold start
		if err := f.setupUsers(); err != nil {
			return nil, fmt.Errorf("%s: setup: %w", c.Name, err)
		}
		h, err := f.runCase(c)
		if err != nil {
			return nil, err
		}
		r.WarmKMSCalls += m.count("KMS") - kms
		r.Handlers = append(r.Handlers, h)
		if _, err := tables.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &caseCfg.TableName}); err != nil {
			return nil, err
		}
	}
	r.ConsumedCapacityNote = capacityNote(m.capacityCoverage())
	return streams, nil
}

// newFixture wires a metered app on cfg's table: logs counted, not printed; the service on a
// clock the cases move; the policy cache warm.
func newFixture(ctx context.Context, cfg app.Config, m *meter) (*fixture, error) {
	a, err := app.New(ctx, cfg, append(fullstack.Options(), app.WithAPIOptions(m.middleware),
		app.WithStoreClient(func(db dynamostore.DynamoDB) dynamostore.DynamoDB { return storeClient{db, m} }))...)
	if err != nil {
		return nil, err
	}
	logs := &countingWriter{}
	log := httpapi.NewLogger(logs, cfg.LogLevel)
	a.Log, a.API.Log, a.Core.Log = log, log, log
	// In Lambda the service's metrics are EMF lines on the function's output (pkg/app): log
	// volume like the request log.
	a.Core.Metrics = emf.New(logs)
	clk := &clock{t: time.Now().UTC()}
	a.Core.Now = clk.Now
	// Policies are cached per container for a minute of real time, after which one request
	// pays one more read. Keep the cache warm for the whole run, as for any request in between.
	a.Policies.TTL = 24 * time.Hour
	if _, err := a.Core.Policy(ctx, ""); err != nil {
		return nil, err
	}
	return &fixture{app: a, meter: m, clock: clk, logs: logs}, nil
}

// capacityNote says what moto did with ReturnConsumedCapacity=TOTAL.
func capacityNote(cov map[string]capacityCoverage) string {
	ops := make([]string, 0, len(cov))
	total, with := 0, 0
	for op, c := range cov {
		ops = append(ops, op)
		total += c.Calls
		with += c.WithCU
	}
	sort.Strings(ops)
	if with == 0 {
		return fmt.Sprintf("moto returned no ConsumedCapacity on any of %d DynamoDB calls despite ReturnConsumedCapacity=TOTAL; the RRU/WRU columns are estimated from the requests (see capacity.go).", total)
	}
	var parts []string
	for _, op := range ops {
		c := cov[op]
		name := strings.TrimPrefix(op, "DynamoDB.")
		if c.WithCU == 0 {
			parts = append(parts, fmt.Sprintf("%s none", name))
		} else {
			parts = append(parts, fmt.Sprintf("%s %d/%d calls, %.2f CU each", name, c.WithCU, c.Calls, c.SumCU/float64(c.WithCU)))
		}
	}
	return "ReturnConsumedCapacity=TOTAL is set on every DynamoDB input. moto answers with placeholder units that ignore item size (" +
		strings.Join(parts, "; ") + "), so the moto CU column is shown for reference only and costs use the RRU/WRU estimated from the requests (capacity.go)."
}

// writeHeapProfile writes the allocations sampled so far (go tool pprof -sample_index=alloc_space).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// findRoot walks up from the working directory to the module root (go.mod and Makefile).
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "Makefile")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod with a Makefile above the working directory: run from the repository")
		}
		dir = parent
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func motoVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "python3", "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
