package infra_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedFileSize bounds every tracked file; a larger one must be listed in largeFiles.
const maxTrackedFileSize = 1 << 20

// largeFiles are the tracked files allowed over maxTrackedFileSize (test fixtures), each with
// the reason. Executable binaries are never allowed: the repository holds source.
var largeFiles = map[string]string{}

// trackedFileProblem says what is wrong with a tracked file, or "".
func trackedFileProblem(path string, mode string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	head = head[:n]
	for _, magic := range [][]byte{
		{0x7f, 'E', 'L', 'F'},                                                        // Linux
		{0xcf, 0xfa, 0xed, 0xfe}, {0xce, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}, // macOS
		[]byte("MZ"),          // Windows
		[]byte("!<arch>"),     // archives (.a, .deb)
		{0x00, 'a', 's', 'm'}, // WebAssembly
	} {
		if bytes.HasPrefix(head, magic) {
			return "is an executable binary (build output?)", nil
		}
	}
	if mode == "100755" && !bytes.HasPrefix(head, []byte("#!")) {
		return "is executable but not a script", nil
	}
	if fi.Size() > maxTrackedFileSize {
		return fmt.Sprintf("is %d bytes, over %d: list it in largeFiles if it is a fixture", fi.Size(), maxTrackedFileSize), nil
	}
	return "", nil
}

// TestNoBinariesTracked: no tracked file is an executable binary, or larger than 1 MB unless
// it is listed. Build outputs belong in build/ (ignored), never in the repository.
func TestNoBinariesTracked(t *testing.T) {
	root := ".."
	out, err := exec.Command("git", "-C", root, "ls-files", "-s", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := 0
	for _, entry := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		// "<mode> <object> <stage>\t<path>"
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok {
			t.Fatalf("git ls-files entry %q", entry)
		}
		mode, _, _ := strings.Cut(meta, " ")
		if mode == "120000" || mode == "160000" { // symlinks, submodules
			continue
		}
		files++
		problem, err := trackedFileProblem(filepath.Join(root, path), mode)
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if problem != "" && (largeFiles[path] == "" || strings.Contains(problem, "executable")) {
			t.Errorf("%s %s", path, problem)
		}
	}
	if files < 100 {
		t.Fatalf("only %d tracked files: not the repository", files)
	}
}

// The check recognises a real Go binary (this test's own) as both executable and too large.
func TestTrackedFileCheckCatchesABinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	problem, err := trackedFileProblem(self, "100644")
	if err != nil || !strings.Contains(problem, "executable binary") {
		t.Fatalf("test binary: %q, %v", problem, err)
	}
	big := filepath.Join(t.TempDir(), "fixture.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte("{}\n"), maxTrackedFileSize/3+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if problem, _ := trackedFileProblem(big, "100644"); !strings.Contains(problem, "over") {
		t.Fatalf("large text file: %q", problem)
	}
	if problem, _ := trackedFileProblem(big, "100755"); !strings.Contains(problem, "not a script") {
		t.Fatalf("executable text file: %q", problem)
	}
}
