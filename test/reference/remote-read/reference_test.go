// Checks promgate's remote_read answers against Prometheus' own code (the module version that
// scripts/remote-read-reference.sh pins). For every series in the vectors (vectors.ts writes them, with what
// promgate's handler answered):
//   - the chunks promgate streamed are byte for byte the chunks storage.NewSeriesToChunkEncoder cuts and
//     tsdb/chunkenc encodes from the same samples (encoding, min/max time, data);
//   - the whole STREAMED_XOR_CHUNKS body equals what remote.StreamChunkedReadResponses writes for them
//     (frame split, labels, CRC32C);
//   - decoding promgate's chunks with chunkenc gives back every sample (time, type, value or histogram);
//   - the SAMPLES ReadResponse equals remote.ToQueryResult's, marshalled by prompb.
package reference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

type vectorFile struct {
	Cases []vectorCase `json:"cases"`
}

type vectorCase struct {
	Name             string         `json:"name"`
	Labels           [][2]string    `json:"labels"`
	Samples          []vectorSample `json:"samples"`
	SamplesResponse  []byte         `json:"samplesResponse"`
	StreamedResponse []byte         `json:"streamedResponse"`
}

type vectorSample struct {
	T         int64            `json:"t"`
	Kind      string           `json:"kind"`
	Stale     bool             `json:"stale"`
	Value     string           `json:"value"`
	Histogram *vectorHistogram `json:"histogram"`
}

type vectorHistogram struct {
	Float           bool       `json:"float"`
	Schema          int32      `json:"schema"`
	ZeroThreshold   string     `json:"zeroThreshold"`
	ZeroCount       string     `json:"zeroCount"`
	Count           string     `json:"count"`
	Sum             string     `json:"sum"`
	PositiveSpans   [][2]int64 `json:"positiveSpans"`
	PositiveBuckets []string   `json:"positiveBuckets"`
	NegativeSpans   [][2]int64 `json:"negativeSpans"`
	NegativeBuckets []string   `json:"negativeBuckets"`
	ResetHint       int        `json:"resetHint"`
	CustomValues    []string   `json:"customValues"`
}

func bitsToFloat(t *testing.T, hex string) float64 {
	u, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		t.Fatalf("bad float bits %q: %v", hex, err)
	}
	return math.Float64frombits(u)
}

func floats(t *testing.T, hexes []string) []float64 {
	out := make([]float64, len(hexes))
	for i, h := range hexes {
		out[i] = bitsToFloat(t, h)
	}
	return out
}

func spans(in [][2]int64) []histogram.Span {
	out := make([]histogram.Span, len(in))
	for i, s := range in {
		out[i] = histogram.Span{Offset: int32(s[0]), Length: uint32(s[1])}
	}
	return out
}

// Integer histograms carry buckets as deltas between neighbours.
func deltas(abs []float64) []int64 {
	out := make([]int64, len(abs))
	var prev int64
	for i, v := range abs {
		out[i] = int64(v) - prev
		prev = int64(v)
	}
	return out
}

type sample struct {
	t  int64
	f  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s sample) T() int64                      { return s.t }
func (sample) ST() int64                       { return 0 }
func (s sample) F() float64                    { return s.f }
func (s sample) H() *histogram.Histogram       { return s.h }
func (s sample) FH() *histogram.FloatHistogram { return s.fh }
func (s sample) Type() chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	default:
		return chunkenc.ValFloat
	}
}

func (s sample) Copy() chunks.Sample {
	c := s
	if s.h != nil {
		c.h = s.h.Copy()
	}
	if s.fh != nil {
		c.fh = s.fh.Copy()
	}
	return c
}

func toSample(t *testing.T, v vectorSample) sample {
	stale := math.Float64frombits(value.StaleNaN)
	switch v.Kind {
	case "float":
		if v.Stale {
			return sample{t: v.T, f: stale}
		}
		return sample{t: v.T, f: bitsToFloat(t, v.Value)}
	case "histogram":
		if v.Stale {
			return sample{t: v.T, h: &histogram.Histogram{Sum: stale}}
		}
		h := v.Histogram
		return sample{t: v.T, h: &histogram.Histogram{
			CounterResetHint: histogram.CounterResetHint(h.ResetHint),
			Schema:           h.Schema,
			ZeroThreshold:    bitsToFloat(t, h.ZeroThreshold),
			ZeroCount:        uint64(bitsToFloat(t, h.ZeroCount)),
			Count:            uint64(bitsToFloat(t, h.Count)),
			Sum:              bitsToFloat(t, h.Sum),
			PositiveSpans:    spans(h.PositiveSpans),
			PositiveBuckets:  deltas(floats(t, h.PositiveBuckets)),
			NegativeSpans:    spans(h.NegativeSpans),
			NegativeBuckets:  deltas(floats(t, h.NegativeBuckets)),
			CustomValues:     floats(t, h.CustomValues),
		}}
	case "floatHistogram":
		if v.Stale {
			return sample{t: v.T, fh: &histogram.FloatHistogram{Sum: stale}}
		}
		h := v.Histogram
		return sample{t: v.T, fh: &histogram.FloatHistogram{
			CounterResetHint: histogram.CounterResetHint(h.ResetHint),
			Schema:           h.Schema,
			ZeroThreshold:    bitsToFloat(t, h.ZeroThreshold),
			ZeroCount:        bitsToFloat(t, h.ZeroCount),
			Count:            bitsToFloat(t, h.Count),
			Sum:              bitsToFloat(t, h.Sum),
			PositiveSpans:    spans(h.PositiveSpans),
			PositiveBuckets:  floats(t, h.PositiveBuckets),
			NegativeSpans:    spans(h.NegativeSpans),
			NegativeBuckets:  floats(t, h.NegativeBuckets),
			CustomValues:     floats(t, h.CustomValues),
		}}
	}
	t.Fatalf("unknown sample kind %q", v.Kind)
	return sample{}
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i <= len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i-1] }
func (*seriesSet) Err() error                          { return nil }
func (*seriesSet) Warnings() annotations.Annotations   { return nil }
func newSeriesSet(series ...storage.Series) *seriesSet { return &seriesSet{series: series} }

type noFlush struct{}

func (noFlush) Flush() {}

func caseSeries(t *testing.T, c vectorCase) (storage.Series, []sample) {
	b := labels.NewScratchBuilder(len(c.Labels))
	for _, l := range c.Labels {
		b.Add(l[0], l[1])
	}
	b.Sort()
	samples := make([]sample, len(c.Samples))
	list := make([]chunks.Sample, len(c.Samples))
	for i, v := range c.Samples {
		samples[i] = toSample(t, v)
		list[i] = samples[i]
	}
	return storage.NewListSeries(b.Labels(), list), samples
}

// The chunks of a streamed body, in order.
func streamedChunks(t *testing.T, body []byte) []prompb.Chunk {
	r := remote.NewChunkedReader(bytes.NewReader(body), 50<<20, nil)
	var out []prompb.Chunk
	for {
		var resp prompb.ChunkedReadResponse
		err := r.NextProto(&resp)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading promgate's stream: %v", err)
		}
		for _, cs := range resp.ChunkedSeries {
			out = append(out, cs.Chunks...)
		}
	}
}

func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("lengths %d vs %d, first difference at byte %d: % x vs % x", len(a), len(b), i, a[i:min(i+8, len(a))], b[i:min(i+8, len(b))])
		}
	}
	return fmt.Sprintf("lengths %d vs %d (one is a prefix of the other)", len(a), len(b))
}

// A histogram by meaning: the buckets that hold counts (layouts may differ by empty buckets).
func describe(fh *histogram.FloatHistogram) string {
	if value.IsStaleNaN(fh.Sum) {
		return "stale"
	}
	s := fmt.Sprintf("schema=%d zt=%x zc=%x count=%x sum=%x cv=%v pos=[", fh.Schema, math.Float64bits(fh.ZeroThreshold), math.Float64bits(fh.ZeroCount), math.Float64bits(fh.Count), math.Float64bits(fh.Sum), fh.CustomValues)
	for it := fh.PositiveBucketIterator(); it.Next(); {
		if b := it.At(); b.Count != 0 {
			s += fmt.Sprintf("%d:%x ", b.Index, math.Float64bits(b.Count))
		}
	}
	s += "] neg=["
	for it := fh.NegativeBucketIterator(); it.Next(); {
		if b := it.At(); b.Count != 0 {
			s += fmt.Sprintf("%d:%x ", b.Index, math.Float64bits(b.Count))
		}
	}
	return s + "]"
}

func describeSample(s sample) string {
	switch {
	case s.h != nil:
		return fmt.Sprintf("t=%d histogram %s", s.t, describe(s.h.ToFloat(nil)))
	case s.fh != nil:
		return fmt.Sprintf("t=%d floatHistogram %s", s.t, describe(s.fh))
	default:
		return fmt.Sprintf("t=%d float %x", s.t, math.Float64bits(s.f))
	}
}

func decodedSamples(t *testing.T, chks []prompb.Chunk) []sample {
	var out []sample
	for _, c := range chks {
		chk, err := chunkenc.FromData(chunkenc.Encoding(c.Type), c.Data)
		if err != nil {
			t.Fatalf("chunkenc refuses promgate's chunk: %v", err)
		}
		it := chk.Iterator(nil)
		first := true
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			var s sample
			switch typ {
			case chunkenc.ValFloat:
				s.t, s.f = it.At()
			case chunkenc.ValHistogram:
				s.t, s.h = it.AtHistogram(nil)
			case chunkenc.ValFloatHistogram:
				s.t, s.fh = it.AtFloatHistogram(nil)
			}
			if first && s.t != c.MinTimeMs {
				t.Errorf("chunk min time %d, first sample at %d", c.MinTimeMs, s.t)
			}
			first = false
			out = append(out, s)
		}
		if err := it.Err(); err != nil {
			t.Fatalf("decoding promgate's chunk: %v", err)
		}
		if n := len(out); n > 0 && out[n-1].t != c.MaxTimeMs {
			t.Errorf("chunk max time %d, last sample at %d", c.MaxTimeMs, out[n-1].t)
		}
	}
	return out
}

// Where a SAMPLES answer departs from Prometheus', message by message.
func samplesDiff(got []byte, want *prompb.QueryResult) string {
	var resp prompb.ReadResponse
	if err := resp.Unmarshal(got); err != nil {
		return fmt.Sprintf("; promgate's answer does not unmarshal: %v", err)
	}
	if len(resp.Results) != 1 || len(resp.Results[0].Timeseries) != len(want.Timeseries) {
		return "; different number of results or series"
	}
	for i, g := range resp.Results[0].Timeseries {
		w := want.Timeseries[i]
		if len(g.Samples) != len(w.Samples) || len(g.Histograms) != len(w.Histograms) {
			return fmt.Sprintf("; %d samples and %d histograms, Prometheus %d and %d", len(g.Samples), len(g.Histograms), len(w.Samples), len(w.Histograms))
		}
		for k := range g.Histograms {
			gb, _ := g.Histograms[k].Marshal()
			wb, _ := w.Histograms[k].Marshal()
			if !bytes.Equal(gb, wb) {
				return fmt.Sprintf("; histogram %d:\n  promgate   %+v\n  Prometheus %+v", k, g.Histograms[k], w.Histograms[k])
			}
		}
		for k := range g.Samples {
			if math.Float64bits(g.Samples[k].Value) != math.Float64bits(w.Samples[k].Value) || g.Samples[k].Timestamp != w.Samples[k].Timestamp {
				return fmt.Sprintf("; sample %d: %+v, Prometheus %+v", k, g.Samples[k], w.Samples[k])
			}
		}
	}
	return ""
}

func TestRemoteReadAgainstPrometheus(t *testing.T) {
	raw, err := os.ReadFile(os.Getenv("VECTORS"))
	if err != nil {
		t.Fatalf("VECTORS: %v", err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no vectors")
	}
	var nChunks, nHist, nBytes int
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			// Fresh samples for each use: Prometheus' chunk appenders widen the histograms they are given in place.
			series, _ := caseSeries(t, c)

			// Chunks, one by one, against Prometheus' own series-to-chunks encoder.
			got := streamedChunks(t, c.StreamedResponse)
			var want []chunks.Meta
			for it := storage.NewSeriesToChunkEncoder(series).Iterator(nil); it.Next(); {
				want = append(want, it.At())
			}
			if len(got) != len(want) {
				t.Fatalf("%d chunks, Prometheus cuts %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.MinTimeMs != w.MinTime || g.MaxTimeMs != w.MaxTime || chunkenc.Encoding(g.Type) != w.Chunk.Encoding() {
					t.Fatalf("chunk %d: [%d,%d] %v, Prometheus [%d,%d] %v", i, g.MinTimeMs, g.MaxTimeMs, chunkenc.Encoding(g.Type), w.MinTime, w.MaxTime, w.Chunk.Encoding())
				}
				if !bytes.Equal(g.Data, w.Chunk.Bytes()) {
					t.Fatalf("chunk %d (%v, %d samples) differs from Prometheus': %s", i, w.Chunk.Encoding(), w.Chunk.NumSamples(), firstDiff(g.Data, w.Chunk.Bytes()))
				}
				nChunks++
				nBytes += len(g.Data)
			}

			// The whole stream: frames as Prometheus splits and checksums them.
			var buf bytes.Buffer
			series, _ = caseSeries(t, c)
			_, err := remote.StreamChunkedReadResponses(remote.NewChunkedWriter(&buf, noFlush{}), 0,
				storage.NewSeriesSetToChunkSet(newSeriesSet(series)), nil, 1048576, &sync.Pool{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.StreamedResponse, buf.Bytes()) {
				t.Fatalf("streamed body differs from Prometheus': %s", firstDiff(c.StreamedResponse, buf.Bytes()))
			}

			// Decoded with chunkenc, promgate's chunks give back the samples.
			_, samples := caseSeries(t, c)
			decoded := decodedSamples(t, got)
			if len(decoded) != len(samples) {
				t.Fatalf("%d samples decoded, %d sent", len(decoded), len(samples))
			}
			for i, s := range samples {
				if a, b := describeSample(decoded[i]), describeSample(s); a != b {
					t.Fatalf("sample %d decodes as %s, was %s", i, a, b)
				}
				if s.h != nil || s.fh != nil {
					nHist++
				}
			}

			// SAMPLES: the ReadResponse Prometheus' ToQueryResult builds for the same series.
			series, _ = caseSeries(t, c)
			qr, _, err := remote.ToQueryResult(newSeriesSet(series), 0)
			if err != nil {
				t.Fatal(err)
			}
			wantSamples, err := (&prompb.ReadResponse{Results: []*prompb.QueryResult{qr}}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.SamplesResponse, wantSamples) {
				t.Fatalf("SAMPLES response differs from Prometheus': %s%s", firstDiff(c.SamplesResponse, wantSamples), samplesDiff(c.SamplesResponse, qr))
			}
		})
	}
	t.Logf("%d series, %d chunks (%d bytes) identical to Prometheus', %d histogram samples decoded", len(v.Cases), nChunks, nBytes, nHist)
}
