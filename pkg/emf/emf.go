// Package emf writes CloudWatch metrics in the embedded metric format: one JSON line per data
// point on the function's output, which Lambda ships to CloudWatch Logs and CloudWatch turns
// into metrics, with no API call on the request path.
package emf

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is where the service's metrics live.
const Namespace = "MfaService"

// Writer emits metrics as EMF lines. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
	// lines are the encoded lines by metric and dimensions, split around the timestamp, the
	// one part that changes: a metric's line is encoded once per container (lines.go).
	lines map[string]lineTemplate
}

// New writes to out (os.Stdout in Lambda).
func New(out io.Writer) *Writer { return &Writer{out: out, now: time.Now} }

type directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Count records one occurrence of name with the given dimensions (low-cardinality values
// only: factor types, outcomes, channels, limits — never user ids).
func (w *Writer) Count(name string, dims map[string]string) {
	at := w.now().UnixMilli()
	w.mu.Lock()
	defer w.mu.Unlock()
	line, ok := w.line(name, dims, at)
	if !ok {
		return
	}
	_, _ = w.out.Write(line)
}

// encodeLine is the EMF line of one count, without its newline.
func encodeLine(name string, dims map[string]string, at int64) ([]byte, error) {
	keys := make([]string, 0, len(dims))
	line := map[string]any{}
	for k, v := range dims {
		keys = append(keys, k)
		line[k] = v
	}
	sort.Strings(keys)
	line["_aws"] = map[string]any{
		"Timestamp":         at,
		"CloudWatchMetrics": []directive{{Namespace: Namespace, Dimensions: [][]string{keys}, Metrics: []metric{{Name: name, Unit: "Count"}}}},
	}
	line[name] = 1
	return json.Marshal(line)
}
