package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// Budgets of DESIGN §8.
const (
	cpuBudgetMs       = 0.5 // warm TOTP verify handler CPU, excluding AWS calls
	coldStartBudgetMs = 50
)

// Report is everything `make bench` measured; it is written as JSON.
type Report struct {
	GeneratedAt string   `json:"generatedAt"`
	Host        HostInfo `json:"host"`
	Settings    Settings `json:"settings"`

	Handlers []HandlerResult `json:"handlers"`
	// InitCalls are the AWS calls of one app.New against a table whose keys exist: what
	// every cold start does before its first request.
	InitCalls map[string]int `json:"initCalls"`
	// WarmKMSCalls counts KMS calls after init, over every request of the benchmarks
	// (setup requests included).
	WarmKMSCalls         int    `json:"warmKmsCalls"`
	ConsumedCapacityNote string `json:"consumedCapacityNote"`

	Sizes      []SizeResult      `json:"binarySizes"`
	ColdStarts []ColdStartResult `json:"coldStarts"`
	Cost       CostReport        `json:"cost"`

	Budgets  []Budget `json:"budgets"`
	Failed   bool     `json:"failed"`
	Failures []string `json:"failures,omitempty"`
}

// HostInfo says where the numbers come from.
type HostInfo struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	CPUModel  string `json:"cpuModel,omitempty"`
	// LoadAvg is /proc/loadavg when the run started: timings on a busy machine are noisy.
	LoadAvg string `json:"loadAvg,omitempty"`
	Moto    string `json:"moto,omitempty"` // moto's version
}

// Settings are the knobs of the run.
type Settings struct {
	Benchtime      string `json:"benchtime"`
	ColdStartRuns  int    `json:"coldStartRuns"`
	Strict         bool   `json:"strict"`
	ColdStartBuild string `json:"coldStartBuild"`
}

// Budget is one line of the budget table.
type Budget struct {
	Name     string `json:"name"`
	Limit    string `json:"limit"`
	Measured string `json:"measured"`
	Status   string `json:"status"` // OK, OVER, ERROR, NOT MEASURED
	// Fails says whether this line makes `make bench` exit non-zero.
	Fails bool `json:"fails"`
}

// evaluate fills r.Budgets, r.Failed and r.Failures. Round-trip budgets (DynamoDB per
// request, KMS on warm requests), binary sizes and errors always fail the run; timing
// budgets are reported, and fail it only when strict (they depend on the machine).
func (r *Report) evaluate(strict bool) {
	r.Budgets, r.Failures, r.Failed = nil, nil, false
	add := func(b Budget, over, hard bool) {
		switch {
		case b.Status != "":
		case over:
			b.Status = "OVER"
		default:
			b.Status = "OK"
		}
		b.Fails = b.Status == "ERROR" || (b.Status == "OVER" && (hard || strict))
		r.Budgets = append(r.Budgets, b)
		if b.Fails {
			r.Failed = true
			r.Failures = append(r.Failures, fmt.Sprintf("%s: %s (budget %s)", b.Name, b.Measured, b.Limit))
		}
	}
	for _, h := range r.Handlers {
		if h.Budget == 0 {
			continue
		}
		m := fmt.Sprintf("%d", h.DynamoMax)
		if !h.SameCalls || h.DynamoMean != float64(h.DynamoMax) {
			m += fmt.Sprintf(" (max; mean %.2f)", h.DynamoMean)
		}
		add(Budget{Name: "DynamoDB round trips: " + h.Name, Limit: fmt.Sprintf("<= %d", h.Budget), Measured: m}, h.DynamoMax > h.Budget, true)
	}
	add(Budget{Name: "KMS calls on warm requests", Limit: "0", Measured: fmt.Sprintf("%d", r.WarmKMSCalls)}, r.WarmKMSCalls > 0, true)
	for _, h := range r.Handlers {
		if h.Name == "verify (totp)" {
			add(Budget{Name: "handler CPU excl. AWS: verify (totp)", Limit: fmt.Sprintf("<= %.1f ms", cpuBudgetMs), Measured: fmt.Sprintf("%.3f ms (mean; p50 %.3f)", h.CPUExclAWS, h.CPUExclAWSP50)}, h.CPUExclAWS > cpuBudgetMs, false)
		}
	}
	// Cost per 1M sign-ins (DESIGN §8), without the channel's own fee (SES per email): a
	// report, like the timings (the duration part follows this machine's CPU).
	for _, f := range r.Cost.Flows {
		if limit, ok := costBudgets[f.Name]; ok {
			add(Budget{Name: "cost per 1M: " + f.Name, Limit: fmt.Sprintf("<= $%g", limit), Measured: fmt.Sprintf("$%.2f", f.Total)}, f.Total > limit, false)
		}
	}
	for _, c := range r.ColdStarts {
		b := Budget{Name: "cold start: " + c.Function, Limit: fmt.Sprintf("<= %d ms", coldStartBudgetMs), Measured: fmt.Sprintf("%.1f ms (median)", c.MedianMs)}
		switch {
		case c.NotMeasured:
			b.Status, b.Measured = "NOT MEASURED", firstLine(c.Error)
		case c.Error != "":
			b.Status, b.Measured = "ERROR", firstLine(c.Error)
		}
		add(b, c.MedianMs > coldStartBudgetMs, false)
	}
	for _, s := range r.Sizes {
		// Sizes do not depend on the machine (linux/arm64 builds): over budget always fails.
		b := Budget{Name: "binary size: " + s.Function, Limit: fmt.Sprintf("<= %g MB", s.BudgetMB), Measured: fmt.Sprintf("%.2f MB", s.MB)}
		add(b, s.MB > s.BudgetMB, true)
	}
}

// costBudgets are DESIGN §8's cost budgets by flow, USD per 1M sign-ins.
var costBudgets = map[string]float64{
	"TOTP sign-in (challenge + verify)":                           5,
	"backup-code sign-in (challenge + verify)":                    8,
	"email sign-in (challenge sending the code + verify)":         8,
	"email sign-in, email picked (challenge + delivery + verify)": 8,
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// write saves the report as indented JSON.
func (r *Report) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// render prints the human report.
func (r *Report) render(w io.Writer) {
	fmt.Fprintf(w, "MFA service bench — %s, %s/%s, %d CPUs, %s\n", r.GeneratedAt, r.Host.GOOS, r.Host.GOARCH, r.Host.CPUs, r.Host.GoVersion)
	if r.Host.CPUModel != "" || r.Host.LoadAvg != "" {
		fmt.Fprintf(w, "CPU: %s; load average at start: %s; moto %s\n", r.Host.CPUModel, r.Host.LoadAvg, r.Host.Moto)
	}

	if len(r.Handlers) > 0 {
		fmt.Fprintf(w, "\n== Handlers: in-process against moto, testing.Benchmark (benchtime %s) ==\n", r.Settings.Benchtime)
		tw := table(w)
		fmt.Fprintln(tw, "handler\tops\tns/op\tB/op\tallocs/op\twall-SDK mean (p50)\tCPU outside SDK\tCPU per req\tin SDK calls\tDDB RT\tRRU\tWRU\tmoto CU")
		for _, h := range r.Handlers {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f ms (%.3f)\t%.3f ms\t%.3f ms\t%.2f ms\t%d\t%.1f\t%.1f\t%s\n",
				h.Name, h.Ops, h.NsPerOp, h.BytesPerOp, h.AllocsPerOp, h.CPUExclAWS, h.CPUExclAWSP50, h.CPUOutsideSDK, h.ProcessCPU, h.SDKMs, h.DynamoMax, h.Units.RRU, h.Units.WRU, motoCU(h))
		}
		tw.Flush()
		fmt.Fprintln(w, "AWS calls per operation:")
		for _, h := range r.Handlers {
			tx := ""
			if h.TxItemsPerOp > 0 {
				tx = fmt.Sprintf("  (%.0f transaction items)", h.TxItemsPerOp)
			}
			same := ""
			if !h.SameCalls {
				same = "  (varies between operations; first shown)"
			}
			state := ""
			if h.StateBytes > 0 {
				state = fmt.Sprintf("  [user's state item %.0f B]", h.StateBytes)
			}
			fmt.Fprintf(w, "  %-28s %s%s%s%s\n", h.Name, strings.ReplaceAll(strings.Join(h.Calls, " → "), " → "+overlapMark, " "+overlapMark), tx, same, state)
		}
		fmt.Fprintln(w, "wall-SDK = handler CPU excluding AWS: the handler's wall time minus the wall time inside SDK calls (a DynamoDB call from")
		fmt.Fprintln(w, "  the store's call of the client to its return, the SDK's building of the call included; other services' from their")
		fmt.Fprintln(w, "  Initialize step to return), per operation; the TOTP verify budget is on its mean.")
		fmt.Fprintln(w, "CPU outside SDK = process CPU time (getrusage) outside SDK calls: the same quantity, immune to the OS running moto instead.")
		fmt.Fprintln(w, "CPU per req = process CPU time over the whole request, SDK work (marshalling, signing) and GC included: the cost model uses it.")
		fmt.Fprintln(w, "  It is an upper bound: moto closes every connection, so each SDK call here also pays a TCP connect that Lambda's kept-alive")
		fmt.Fprintln(w, "  connections do not. B/op and allocs/op include the SDK's allocations.")
		fmt.Fprintf(w, "Consumed capacity: %s\n", r.ConsumedCapacityNote)
		fmt.Fprintf(w, "Cold-start AWS calls (app.New, keys already in the table): %s\n", formatCalls(r.InitCalls))
	}

	if len(r.ColdStarts) > 0 {
		fmt.Fprintf(w, "\n== Cold starts: real bootstrap (%s) against a local Runtime API and moto, median of %d ==\n", r.Settings.ColdStartBuild, r.Settings.ColdStartRuns)
		tw := table(w)
		fmt.Fprintln(tw, "function\tevent\tmedian\tmin\tmax\tinit (to first poll)\tproxied\tAWS calls\tin AWS\texcl AWS\tanswer")
		for _, c := range r.ColdStarts {
			if c.Error != "" {
				status := "ERROR"
				if c.NotMeasured {
					status = "not measured"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\t\t%s\n", c.Function, c.Event, status, trimOutcome(firstLine(c.Error)))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%d\t%.1f ms\t%.1f ms\t%s\n", c.Function, c.Event, c.MedianMs, c.MinMs, c.MaxMs, c.InitMedianMs, c.ProxiedMedianMs, c.AWSCalls, c.AWSMedianMs, c.ExclAWSMedianMs, trimOutcome(c.Outcome))
		}
		tw.Flush()
		fmt.Fprintln(w, "median = process start to the whole first response received, talking to moto directly (the budget); init = to the first poll for an event.")
		fmt.Fprintln(w, "proxied = the median of as many runs made in turn with them through a timing proxy in front of moto (a loopback hop and a connection more per call);")
		fmt.Fprintln(w, "in AWS = time inside the calls, timed by the proxy; excl AWS = median of (proxied total - in AWS): the function's own time.")
		renderInitWork(w, r.ColdStarts)
	}

	if len(r.Sizes) > 0 {
		fmt.Fprintln(w, "\n== Binary sizes: build/<function>/bootstrap from `make build` (linux/arm64, lambda.norpc, -trimpath, -s -w) ==")
		tw := table(w)
		fmt.Fprintln(tw, "function\tbytes\tMB\tbudget MB")
		for _, s := range r.Sizes {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%g\n", s.Function, s.Bytes, s.MB, s.BudgetMB)
		}
		tw.Flush()
	}

	if len(r.Cost.Routes) > 0 {
		c := r.Cost
		fmt.Fprintf(w, "\n== Estimated cost per 1M operations, USD (%s list prices as of %s, 128 MB arm64) ==\n", c.Region, c.PricesAsOf)
		tw := table(w)
		fmt.Fprintln(tw, "route\test. billed ms\tRRU/op\tWRU/op\tLambda req\tLambda dur\tHTTP API\tDynamoDB\tLogs\tevents\taudit writer\ttotal\tSES fee (apart)\taudit storage (apart)")
		row := func(rc RouteCost) {
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.1f\t%.2f\t%.3f\t%.2f\t%.3f\t%.3f\t%.2f\t%.3f\t%.2f\t%.2f\t%.2f\n",
				rc.Name, rc.EstimatedMs, rc.RRU, rc.WRU, rc.LambdaRequests, rc.LambdaDuration, rc.HTTPAPI, rc.DynamoDB, rc.Logs, rc.EventBridge+rc.EventPublisher, rc.AuditWriter, rc.Total, rc.SES, rc.AuditStorage)
		}
		for _, rc := range c.Routes {
			row(rc)
		}
		fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t")
		for _, rc := range c.Flows {
			row(rc)
		}
		tw.Flush()
		if c.TOTPSignInPerMillion > 0 {
			fmt.Fprintf(w, "TOTP sign-in: $%.2f per 1M vs Twilio Verify $%.0f per 1M ($%.2f each): %.0fx cheaper.\n",
				c.TOTPSignInPerMillion, c.TwilioPerMillion, c.Prices.TwilioVerifyPerSuccess, c.TwilioRatio)
		}
		fmt.Fprintln(w, "Formulas:")
		for _, f := range c.Formulas {
			fmt.Fprintln(w, "  "+f)
		}
		fmt.Fprintf(w, "Assumed call latencies (ms, not measured: moto is not AWS): %s\n", formatLatencies(c.Assumptions.LatencyMs))
		fmt.Fprintf(w, "Prices: Lambda $%.2f/1M req + $%.10f/GB-s (arm64); HTTP API $%.2f/1M; DynamoDB on-demand $%.3f/1M RRU, $%.3f/1M WRU; SES $%.2f/1000; Logs $%.2f/GB; KMS $%.2f/10k.\n",
			c.Prices.LambdaRequestsPerMillion, c.Prices.LambdaArmGBSecond, c.Prices.HTTPAPIPerMillion, c.Prices.DynamoRRUPerMillion, c.Prices.DynamoWRUPerMillion, c.Prices.SESPerThousandEmails, c.Prices.LogsIngestPerGB, c.Prices.KMSPer10kRequests)
	}

	fmt.Fprintln(w, "\n== Budgets (DESIGN §8) ==")
	tw := table(w)
	fmt.Fprintln(tw, "budget\tlimit\tmeasured\tstatus")
	for _, b := range r.Budgets {
		status := b.Status
		if b.Fails {
			status += "  <-- FAILS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Name, b.Limit, b.Measured, status)
	}
	tw.Flush()
	over := 0
	for _, b := range r.Budgets {
		if b.Status != "OK" && !b.Fails {
			over++
		}
	}
	if over > 0 {
		fmt.Fprintf(w, "%d budget(s) over but not failing: timing budgets are reported (run with -strict to fail on them).\n", over)
	}
}

func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func motoCU(h HandlerResult) string {
	if h.MotoCUCalls == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", h.MotoCU)
}

func formatCalls(calls map[string]int) string {
	if len(calls) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s x%d", k, calls[k]))
	}
	return strings.Join(parts, ", ")
}

func formatLatencies(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := k
		if k == "*" {
			name = "other"
		}
		parts = append(parts, fmt.Sprintf("%s %g", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

func callList(calls []string) string {
	if len(calls) == 0 {
		return "none"
	}
	return strings.Join(calls, ", ")
}
