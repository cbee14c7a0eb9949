package mcpbearer

import (
	"bytes"
	"testing"
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
