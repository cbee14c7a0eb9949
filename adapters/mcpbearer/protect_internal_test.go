package mcpbearer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"
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
		`[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"subscriptions\/listen","params":{}}]`,
		// A later null leaves the SDK's string as it was (red-team of the
		// MCP door; SECURITY.md 140).
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","arguments":{},"name":null}}`,
		// A "jsonrpc" the SDK refuses opens no stream (CI's fuzzing).
		` {"jsonrpc":0,"method":"subscriptions\/listen"}0`,
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
		// Every call the SDK itself would run is found, with the same
		// id and tool (it may find more: it does not check "jsonrpc").
		for _, c := range sdkToolCalls(body) {
			if !slices.ContainsFunc(calls, func(f toolCall) bool { return f.tool == c.tool && f.id == c.id }) {
				t.Fatalf("the SDK runs %+v, Protect found %+v in %q", c, calls, body)
			}
		}
		for _, c := range calls {
			if !c.id.IsValid() {
				t.Fatalf("a call without a valid id: %+v", c)
			}
		}
		// requestIDs finds only requests with valid ids, at most one per
		// object.
		ids, _ := requestIDs(body)
		for _, id := range ids {
			if !id.IsValid() {
				t.Fatalf("a request without a valid id: %+v", id)
			}
		}
		if len(ids) > bytes.Count(body, []byte("{")) {
			t.Fatalf("%d requests from %d objects", len(ids), bytes.Count(body, []byte("{")))
		}
		// A body the SDK reads as a subscriptions/listen request is a
		// stream that ends with its token.
		if allObjects(body) && methodWhole(body, "subscriptions/listen") && !opensStream(body) {
			t.Fatalf("a subscriptions/listen request not seen as a stream: %q", body)
		}
	})
}

// methodWhole reports whether a message of body, as the SDK reads it
// (the first JSON value, every element of a batch, each decoded by
// jsonrpc.DecodeMessage), is a request for method. A message the SDK
// refuses (a "jsonrpc" that is not "2.0", or not a string) opens nothing.
func methodWhole(body []byte, method string) bool {
	dec := segjson.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if dec.Decode(&first) != nil || len(first) == 0 {
		return false
	}
	raws := []json.RawMessage{first}
	if first[0] == '[' && segjson.Unmarshal(first, &raws) != nil {
		return false
	}
	for _, raw := range raws {
		msg, err := jsonrpc.DecodeMessage(raw)
		if req, ok := msg.(*jsonrpc.Request); err == nil && ok && req.Method == method {
			return true
		}
	}
	return false
}

// TestOpensStream: only a POST calling subscriptions/listen, as the SDK
// reads its body, is a stream that ends with its token; a tool call is
// not cut at its token's expiry.
func TestOpensStream(t *testing.T) {
	const listen = `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{}}`
	tests := []struct {
		body string
		want bool
	}{
		{listen, true},
		{`  ` + listen + ` trailing`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"subscriptions\/listen"}`, true},
		{`{"method":"tools/call","method":"subscriptions/listen"}`, true}, // the last duplicate wins
		{`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}},` + listen + `]`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, false},
		{`{"method":"subscriptions/listen","method":"tools/call"}`, false},
		{`{"Method":"subscriptions/listen"}`, false}, // the SDK matches names exactly
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, false},
		{`{"params":{"method":"subscriptions/listen"}}`, false},
		{`[` + listen + `,1]`, true}, // the SDK refuses it: no stream either way
		// The SDK refuses a "jsonrpc" that is not a string: no stream
		// (found by FuzzToolCalls in CI).
		{` {"jsonrpc":0,"method":"subscriptions\/listen"}0`, false},
		{``, false},
		{`not json`, false},
	}
	for _, tc := range tests {
		if got := opensStream([]byte(tc.body)); got != tc.want {
			t.Errorf("opensStream(%s) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// toolCallsWhole is toolCalls read another way, as the SDK reads a body:
// the first JSON value (what follows ignored) decoded at once with the
// SDK's library, every element of a batch tried, each message read into a
// map (exact names, the last duplicate winning). FuzzToolCalls holds the
// two to the same answers.
func toolCallsWhole(body []byte) []toolCall {
	dec := segjson.NewDecoder(bytes.NewReader(body))
	dec.DontMatchCaseInsensitiveStructFields()
	var first json.RawMessage
	if dec.Decode(&first) != nil || len(first) == 0 {
		return nil
	}
	var raws []json.RawMessage
	if first[0] == '[' {
		if segjson.Unmarshal(first, &raws) != nil {
			return nil
		}
	} else {
		raws = []json.RawMessage{first}
	}
	str := func(raw json.RawMessage) (string, bool) {
		var s string
		return s, raw != nil && segjson.Unmarshal(raw, &s) == nil
	}
	var out []toolCall
	for _, raw := range raws {
		var m map[string]json.RawMessage
		if segjson.Unmarshal(raw, &m) != nil {
			continue
		}
		// "jsonrpc" of another type than a string: the SDK cannot decode
		// the message.
		var version struct {
			JSONRPC string `json:"jsonrpc"`
		}
		if decodeAsSDK(raw, &version) != nil {
			continue
		}
		if method, ok := str(m["method"]); !ok || method != "tools/call" {
			continue
		}
		var rawID any
		if segjson.Unmarshal(m["id"], &rawID) != nil {
			continue
		}
		id, err := jsonrpc.MakeID(rawID)
		if err != nil || !id.IsValid() {
			continue
		}
		// params must be an object; its "name" is decoded into a string,
		// as the SDK does.
		var params struct {
			Name string `json:"name"`
		}
		if p := m["params"]; len(p) == 0 || p[0] != '{' || decodeAsSDK(p, &params) != nil {
			continue
		}
		out = append(out, toolCall{id: id, tool: params.Name})
	}
	return out
}

// decodeAsSDK decodes raw as the SDK's internal JSON package does.
func decodeAsSDK(raw []byte, v any) error {
	dec := segjson.NewDecoder(bytes.NewReader(raw))
	dec.DontMatchCaseInsensitiveStructFields()
	return dec.Decode(v)
}

// sdkToolCalls returns the tool calls the SDK itself would run for body,
// read with its own decoder (jsonrpc.DecodeMessage) and its own params
// type (mcp.CallToolParamsRaw): a batch whose elements all decode, or one
// message.
func sdkToolCalls(body []byte) []toolCall {
	var msgs []jsonrpc.Message
	var raws []json.RawMessage
	if decodeAsSDK(body, &raws) == nil {
		for _, raw := range raws {
			msg, err := jsonrpc.DecodeMessage(raw)
			if err != nil {
				return nil
			}
			msgs = append(msgs, msg)
		}
	} else if msg, err := jsonrpc.DecodeMessage(body); err == nil {
		msgs = append(msgs, msg)
	}
	var out []toolCall
	for _, msg := range msgs {
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.Method != "tools/call" || !req.ID.IsValid() {
			continue
		}
		var params mcp.CallToolParamsRaw
		if decodeAsSDK(req.Params, &params) != nil {
			continue
		}
		out = append(out, toolCall{id: req.ID, tool: params.Name})
	}
	return out
}

// allObjects reports whether body's first JSON value is not an array, or
// is an array of objects only.
func allObjects(body []byte) bool {
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(body)).Decode(&first) != nil {
		return false
	}
	if first[0] != '[' {
		return true
	}
	var raws []json.RawMessage
	if json.Unmarshal(first, &raws) != nil {
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
		{`{"id":[[],[],[],[],[],[],[],[]]}`, 0, 3},
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
	// One message whose id is 4 MiB of arrays: read raw, not decoded.
	idBody := []byte(`{"method":"tools/call","id":[` + strings.TrimSuffix(strings.Repeat("[],", 1<<20), ",") + `]}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if calls := toolCalls(idBody); calls != nil {
		t.Errorf("an id of arrays: %+v", calls)
	}
	runtime.ReadMemStats(&after)
	if perB := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(idBody)); perB > 6 {
		t.Errorf("an id of 4 MiB of arrays: %.2f B allocated per byte, want at most 6 (it was ~45)", perB)
	}
	// A batch whose later element is not an object yields nothing: the
	// SDK refuses it whole, so its calls never run.
	if calls := toolCalls([]byte("[" + call + ",1]")); calls != nil {
		t.Errorf("a call before a number: %+v", calls)
	}
	if calls := toolCalls([]byte("[" + call + "," + call + "] ")); len(calls) != 2 {
		t.Errorf("two calls: %+v", calls)
	}
	for _, bad := range []string{"[" + call + ",", "[" + call + "}", call[:len(call)-1]} {
		if calls := toolCalls([]byte(bad)); calls != nil {
			t.Errorf("%q: %+v", bad, calls)
		}
	}
	// What follows the first value is ignored, as the SDK's decoder
	// ignores it: the call in front of it is found and judged. It was
	// skipped, and ran behind Protect (SECURITY.md 109).
	for _, trailing := range []string{"[" + call + "] x", call + " x", call + "]", call + "\x00", call + call, "[" + call + "]]"} {
		if calls := toolCalls([]byte(trailing)); len(calls) != 1 || calls[0].tool != "w" {
			t.Errorf("%q: %+v, want the call", trailing, calls)
		}
	}
}
