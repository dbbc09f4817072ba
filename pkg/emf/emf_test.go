package emf

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestCountWritesEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	w.now = func() time.Time { return time.UnixMilli(1_700_000_000_123) }
	w.Count("Verifications", map[string]string{"Outcome": "success", "FactorType": "totp"})
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Verifications int
		FactorType    string
		Outcome       string
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	d := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp != 1_700_000_000_123 || len(d) != 1 || d[0].Namespace != Namespace ||
		len(d[0].Dimensions) != 1 || d[0].Dimensions[0][0] != "FactorType" || d[0].Dimensions[0][1] != "Outcome" ||
		d[0].Metrics[0].Name != "Verifications" || d[0].Metrics[0].Unit != "Count" {
		t.Fatalf("directive: %+v", line.AWS)
	}
	if line.Verifications != 1 || line.FactorType != "totp" || line.Outcome != "success" {
		t.Fatalf("values: %+v", line)
	}
}
