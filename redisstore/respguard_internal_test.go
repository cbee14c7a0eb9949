package redisstore

import (
	"strings"
	"testing"
)

// respFraming follows real RESP2 and RESP3 replies whatever the chunks
// they arrive in, and refuses what declares more than the store reads.
func TestRespFraming(t *testing.T) {
	hello := "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:5\r\n" +
		"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
	for _, tt := range []struct {
		name, stream string
		ok           bool
	}{
		{"simple replies", "+OK\r\n+PONG\r\n:1\r\n-ERR wrong type\r\n_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n", true},
		{"bulk strings, null, empty", "$5\r\nhello\r\n$-1\r\n$0\r\n\r\n", true},
		{"a bulk string holding CRLF and '*'", "$8\r\n*9999\r\n\r\n+OK\r\n", true},
		{"HELLO's map", hello, true},
		{"nested arrays, null array", "*2\r\n*1\r\n:1\r\n*-1\r\n*0\r\n", true},
		{"blob error, verbatim string", "!5\r\nERR x\r\n=7\r\ntxt:abc\r\n", true},
		{"push", ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n+OK\r\n", true},
		{"replies one after another, each within the bounds", strings.Repeat("*1000\r\n"+strings.Repeat(":1\r\n", 1000), 20), true},
		{"the largest bulk allowed", "$100\r\n" + strings.Repeat("x", 100) + "\r\n", true},
		{"a bulk string too long", "$101\r\n", false},
		{"a terabyte", "$1099511627776\r\n", false},
		{"a huge count", "*9223372036854775807\r\n", false},
		{"too many elements", "*1025\r\n", false},
		{"a map of too many pairs", "%513\r\n", false},
		{"too many elements declared at once", strings.Repeat("*1000\r\n", 5), false},
		{"nested too deep", strings.Repeat("*1\r\n", 9), false},
		{"a line without end", "+" + strings.Repeat("x", maxReplyLine+1), false},
		{"a streamed string", "$?\r\n", false},
		{"a negative length other than -1", "$-2\r\n", false},
		{"no length", "$\r\n", false},
		{"garbage in a length", "*1x\r\n", false},
		// Found by the review of these fixes: go-redis reads a run of
		// attributes by recursion (a stack overflow), and builds a reply's
		// whole tree however many small aggregates it holds.
		{"an attribute", "|1\r\n+ttl\r\n:3\r\n+OK\r\n", false},
		{"a run of empty attributes", strings.Repeat("|0\r\n", 3) + "+OK\r\n", false},
		{"a tree of too many elements", "*1000\r\n" + strings.Repeat("*17\r\n"+strings.Repeat("_\r\n", 17), 1000), false},
		{"a reply of too many bytes", "*1000\r\n" + strings.Repeat("$90\r\n"+strings.Repeat("x", 90)+"\r\n", 1000), false},
	} {
		for _, chunk := range []int{1, 2, 3, 7, len(tt.stream)} {
			f := respFraming{maxBulk: 100}
			var err error
			for i := 0; i < len(tt.stream) && err == nil; i += chunk {
				err = f.feed([]byte(tt.stream[i:min(i+chunk, len(tt.stream))]))
			}
			if (err == nil) != tt.ok {
				t.Errorf("%s, chunks of %d: %v, want ok %v", tt.name, chunk, err, tt.ok)
			}
			if tt.ok && (f.depth != 0 || f.pending != 0 || f.skip != 0 || f.inLine) {
				t.Errorf("%s, chunks of %d: not at a reply's end (depth %d, pending %d, skip %d, in a line %v)",
					tt.name, chunk, f.depth, f.pending, f.skip, f.inLine)
			}
		}
	}
}

// FuzzRespFraming: any stream, in any chunks, never panics, and the
// verdict does not depend on how the stream was cut.
func FuzzRespFraming(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "$5\r\nhello\r\n", "*2\r\n*1\r\n:1\r\n*-1\r\n", "%1\r\n+a\r\n+b\r\n", "|1\r\n+a\r\n:1\r\n+OK\r\n", "$1099511627776\r\n"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, cut uint8) {
		whole := respFraming{maxBulk: 1 << 16}
		werr := whole.feed([]byte(s))
		chunk := int(cut)%16 + 1
		parts := respFraming{maxBulk: 1 << 16}
		var perr error
		for i := 0; i < len(s) && perr == nil; i += chunk {
			perr = parts.feed([]byte(s[i:min(i+chunk, len(s))]))
		}
		if (werr == nil) != (perr == nil) {
			t.Fatalf("%q: whole %v, in chunks of %d %v", s, werr, chunk, perr)
		}
		if whole.pending < 0 || whole.depth < 0 || whole.pending > maxReplyPending {
			t.Fatalf("%q: pending %d, depth %d", s, whole.pending, whole.depth)
		}
	})
}
