package emf

import (
	"bytes"
	"math"
	"slices"
	"strconv"
)

// A count's line differs from the last count of the same metric and dimensions only in its
// timestamp, so each line is encoded once (encodeLine, json.Marshal of a map: the line's bulk
// of the CPU of a request that counts) and kept split around the timestamp. Dimension values
// are low-cardinality by Count's contract; past maxLines distinct lines are encoded every
// time, not kept.

const maxLines = 256

// lineTemplate is an encoded line around its timestamp.
type lineTemplate struct{ head, tail []byte }

// timestampMark stands for the timestamp in a template's encoding: a number no real timestamp
// is, written where the timestamp goes.
const timestampMark = math.MinInt64

// line returns the line of a count (w.mu held), with its newline.
func (w *Writer) line(name string, dims map[string]string, at int64) ([]byte, bool) {
	var kb [128]byte
	key := appendLineKey(kb[:0], name, dims)
	t, ok := w.lines[string(key)] // a look-up by string(bytes) copies nothing
	if !ok {
		raw, err := encodeLine(name, dims, timestampMark)
		if err != nil {
			return nil, false
		}
		mark := strconv.AppendInt(nil, timestampMark, 10)
		i := bytes.Index(raw, mark)
		if i < 0 || bytes.Count(raw, mark) != 1 || len(w.lines) >= maxLines {
			// Not templated (a dimension value holds the mark's text, or too many lines).
			raw, err := encodeLine(name, dims, at)
			if err != nil {
				return nil, false
			}
			return append(raw, '\n'), true
		}
		t = lineTemplate{head: raw[:i], tail: append(raw[i+len(mark):len(raw):len(raw)], '\n')}
		if w.lines == nil {
			w.lines = map[string]lineTemplate{}
		}
		w.lines[string(key)] = t
	}
	out := make([]byte, 0, len(t.head)+20+len(t.tail))
	out = append(out, t.head...)
	out = strconv.AppendInt(out, at, 10)
	return append(out, t.tail...), true
}

// appendLineKey appends a name for a metric and its dimensions, unambiguous (the length
// before each part).
func appendLineKey(b []byte, name string, dims map[string]string) []byte {
	var keys [8]string
	ks := keys[:0]
	for k := range dims {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	part := func(b []byte, s string) []byte {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		return append(append(b, ':'), s...)
	}
	b = part(b, name)
	for _, k := range ks {
		b = part(part(b, k), dims[k])
	}
	return b
}
