package localaws

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// orphanHelperEnv makes the test binary act as a parent that starts moto and then dies
// without stopping it.
const orphanHelperEnv = "LOCALAWS_TEST_ORPHAN_PARENT"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) == "1" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		moto, err := StartMoto(ctx, "127.0.0.1", 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(moto.Endpoint())
		select {} // wait to be killed
	}
	os.Exit(m.Run())
}

func TestMotoExitsWhenItsParentDies(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), orphanHelperEnv+"=1")
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("helper did not report an endpoint: %v", err)
	}
	endpoint := strings.TrimSpace(line)
	if _, err := fresh.Get(endpoint + "/moto-api/"); err != nil {
		t.Fatalf("moto of the helper does not answer: %v", err)
	}

	parent.Process.Kill() // no Stop: moto is orphaned
	parent.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := fresh.Get(endpoint + "/moto-api/"); err != nil {
			return // gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto at %s still answers 10 s after its parent died", endpoint)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
