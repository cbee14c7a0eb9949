package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/redisstore"
)

// splitRedis is a fake Redis answering SET with setReply and PTTL with
// pttlReply, each on its own, and GETRANGE with the value SET was given.
// resp3: HELLO is answered with a map (go-redis then speaks RESP3), else
// refused (RESP2).
func splitRedis(t *testing.T, setReply, pttlReply string, resp3 bool) string {
	t.Helper()
	return fakeRedisServer(t, func() func(args []string) string {
		var mark string // the value SET was given: GETRANGE reads it back
		return func(args []string) string {
			switch strings.ToUpper(args[0]) {
			case "HELLO":
				if resp3 {
					return "%3\r\n+server\r\n+redis\r\n+version\r\n+7.0.15\r\n+proto\r\n:3\r\n"
				}
				return "-ERR unknown command 'HELLO'\r\n"
			case "CLIENT":
				return "+OK\r\n"
			case "SET":
				mark = args[2]
				return setReply
			case "PTTL":
				return pttlReply
			case "GETRANGE":
				return fmt.Sprintf("$%d\r\n%s\r\n", len(mark), mark)
			}
			return "-ERR unexpected\r\n"
		}
	})
}

// TestReplayOnlyStatusOKAndIntegerTTLAccept: every reply shape for
// SET and for PTTL, independently, over RESP2 and RESP3. Only SET's status
// +OK with PTTL's positive integer may accept; every other pair must
// refuse (or fail). The control pair must accept (the harness works).
func TestReplayOnlyStatusOKAndIntegerTTLAccept(t *testing.T) {
	setReplies := []string{
		"+OK\r\n",          // the only right one
		"$2\r\nOK\r\n",     // bulk "OK": SET answers a bulk only with GET, never "OK"
		"=6\r\ntxt:OK\r\n", // RESP3 verbatim string
		"+ok\r\n", "+OK \r\n", "$-1\r\n", "_\r\n", "*-1\r\n", ":1\r\n", "#t\r\n",
		"*1\r\n+OK\r\n", "-ERR no\r\n",
	}
	pttlReplies := []string{
		":5000\r\n",           // the only right shape
		"+5000\r\n",           // a status
		"$4\r\n5000\r\n",      // a bulk string
		"(5000\r\n",           // RESP3 big number
		":-9223372036855\r\n", // negative: × 1 ms overflows to positive
		":0\r\n", ":-1\r\n", ":-2\r\n", ":-3\r\n", "$-1\r\n", "_\r\n", ",5000\r\n", "#t\r\n", "-ERR no\r\n",
	}
	var bad []string
	for _, resp3 := range []bool{false, true} {
		for _, sr := range setReplies {
			for _, pr := range pttlReplies {
				if !resp3 && (sr[0] == '=' || sr[0] == '_' || sr[0] == '#' || pr[0] == '(' || pr[0] == '_' || pr[0] == ',' || pr[0] == '#') {
					continue // RESP3-only types
				}
				s, err := redisstore.Open(splitRedis(t, sr, pr, resp3), redisstore.WithTimeout(testTimeout))
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := s.ReplayStore().Remember(context.Background(), "proof", time.Now().Add(time.Minute))
				s.Close()
				// go-redis gives the same string "OK" for a status, a bulk
				// and a RESP3 verbatim reply: a server answering one of the
				// others could as well answer +OK.
				okSet := sr == "+OK\r\n" || sr == "$2\r\nOK\r\n" || sr == "=6\r\ntxt:OK\r\n"
				want := okSet && pr == ":5000\r\n"
				if want && (!fresh || err != nil) && sr == "+OK\r\n" {
					t.Errorf("resp3=%v control SET %q PTTL %q: %v, %v; want accepted", resp3, sr, pr, fresh, err)
				}
				if !want && fresh {
					bad = append(bad, "resp3="+strconv.FormatBool(resp3)+" SET "+strconv.Quote(sr)+" PTTL "+strconv.Quote(pr))
				}
			}
		}
	}
	for _, b := range bad {
		t.Errorf("accepted: %s", b)
	}
}
