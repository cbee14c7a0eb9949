package mcpbearer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// FuzzToolCalls: Protect's read-ahead of a request body (anyone's to
// write, read before any tool runs) never panics, finds at most one call
// per JSON object in the body, and only calls with a valid id.
func FuzzToolCalls(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data"}}`,
		`[{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x"}},{"jsonrpc":"2.0","method":"tools/call"}]`,
		`{"id":null,"method":"tools/call","params":{"name":"x","Name":"y"}}`,
		` [ ] `, `{"id":1.5,"method":"tools/call"}`, "\xef\xbb\xbf{}", `{"id":{},"method":"tools/call"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		calls := toolCalls(body)
		// It finds what decoding the whole body finds, or, where the SDK
		// refuses the body whole (an element that is not an object),
		// nothing.
		whole := toolCallsWhole(body)
		if calls != nil && !reflect.DeepEqual(calls, whole) {
			t.Fatalf("streamed %+v, whole %+v", calls, whole)
		}
		if allObjects(body) && !reflect.DeepEqual(calls, whole) {
			t.Fatalf("a batch of objects: streamed %+v, whole %+v", calls, whole)
		}
		if len(calls) > bytes.Count(body, []byte("{")) {
			t.Fatalf("%d calls from %d objects", len(calls), bytes.Count(body, []byte("{")))
		}
		for _, c := range calls {
			if !c.id.IsValid() {
				t.Fatalf("a call without a valid id: %+v", c)
			}
		}
	})
}

// toolCallsWhole is toolCalls as it was before it streamed: the whole
// batch decoded at once, and every element tried. FuzzToolCalls holds
// the two to the same answers.
func toolCallsWhole(body []byte) []toolCall {
	var raws []json.RawMessage
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(body, &raws) != nil {
			return nil
		}
	} else {
		raws = []json.RawMessage{body}
	}
	var out []toolCall
	for _, raw := range raws {
		var msg struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if json.Unmarshal(raw, &msg) != nil || msg.Method != "tools/call" {
			continue
		}
		id, err := jsonrpc.MakeID(msg.ID)
		if err != nil || !id.IsValid() {
			continue
		}
		out = append(out, toolCall{id: id, tool: msg.Params.Name})
	}
	return out
}

// allObjects reports whether body is one JSON value that is not an array,
// or an array of objects only.
func allObjects(body []byte) bool {
	if !json.Valid(body) {
		return false
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return true
	}
	var raws []json.RawMessage
	if json.Unmarshal(body, &raws) != nil {
		return false
	}
	for _, raw := range raws {
		if raw[0] != '{' {
			return false
		}
	}
	return true
}

// TestToolCallsStreamed: Protect's read-ahead of a 4 MiB batch, written
// by the holder of any valid token, costs a few bytes per byte of body,
// not the ~200 of decoding every element on its own (SECURITY.md 98).
// The SDK refuses a batch with an element that is not an object, so
// reading stops there.
func TestToolCallsStreamed(t *testing.T) {
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w"}}`
	for _, tc := range []struct {
		elem  string
		calls int
		perB  float64 // bytes allocated per byte of body, at most
	}{
		{"1", 0, 0.01},
		{`""`, 0, 0.01},
		{"null", 0, 0.01},
		{"{}", 0, 0.5},
		{`{"id":{}}`, 0, 10},
		{`{"params":{"name":5}}`, 0, 10},
		{call, (4 << 20) / (len(call) + 1), 10},
	} {
		k := (4 << 20) / (len(tc.elem) + 1)
		body := []byte("[" + strings.TrimSuffix(strings.Repeat(tc.elem+",", k), ",") + "]")
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		calls := toolCalls(body)
		runtime.ReadMemStats(&after)
		perB := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(body))
		if len(calls) != tc.calls || perB > tc.perB {
			t.Errorf("[%s, …] (%d B): %d calls, %.2f B allocated per byte; want %d calls, at most %.2f", tc.elem, len(body), len(calls), perB, tc.calls, tc.perB)
		}
	}
	// A batch whose later element is not an object yields nothing: the
	// SDK refuses it whole, so its calls never run.
	if calls := toolCalls([]byte("[" + call + ",1]")); calls != nil {
		t.Errorf("a call before a number: %+v", calls)
	}
	if calls := toolCalls([]byte("[" + call + "," + call + "] ")); len(calls) != 2 {
		t.Errorf("two calls: %+v", calls)
	}
	for _, bad := range []string{"[" + call + "] x", "[" + call + ",", "[" + call + "}"} {
		if calls := toolCalls([]byte(bad)); calls != nil {
			t.Errorf("%q: %+v", bad, calls)
		}
	}
}
