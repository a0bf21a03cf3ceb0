//go:build !wasip1

package guest

import (
	"fmt"
	"sync"
	"testing"
)

func TestConfig(t *testing.T) {
	var c Config
	if got := string(c.Get()); got != "{}" {
		t.Fatalf("zero Config = %q", got)
	}
	in := []byte(`{"a":1}`)
	c.Set(in)
	in[2] = 'b'
	if got := string(c.Get()); got != `{"a":1}` {
		t.Fatalf("Get = %q; Set must copy", got)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				if i%2 == 0 {
					c.Set([]byte(fmt.Sprintf(`{"n":%d}`, j)))
				} else if len(c.Get()) == 0 {
					t.Error("empty config")
				}
			}
		}()
	}
	wg.Wait()
}
