package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HtaccessName is the per-directory file Apache reads, where a shared-host
// install may name its config with "SetEnv APIE_CONFIG /path/apie.json".
const HtaccessName = ".htaccess"

// EnvVar is the environment variable that names the config file.
const EnvVar = "APIE_CONFIG"

// FromHtaccess returns the config file the .htaccess at path names with
// "SetEnv APIE_CONFIG value": the last such line, in or out of any
// <If…> block, as Apache would apply them in turn. The value may be
// quoted; a relative one is resolved against the .htaccess's directory,
// which is where Apache starts a CGI program (so the program, resolving
// it against its working directory, finds the same file). A missing
// .htaccess, or one without the line, gives "".
func FromHtaccess(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s for SetEnv %s: %w", path, EnvVar, err)
	}
	defer f.Close()
	value, err := setEnvValue(f)
	if err != nil {
		return "", fmt.Errorf("read %s for SetEnv %s: %w", path, EnvVar, err)
	}
	if value == "" || filepath.IsAbs(value) {
		return value, nil
	}
	abs, err := filepath.Abs(filepath.Join(filepath.Dir(path), value))
	if err != nil {
		return "", fmt.Errorf("%s: SetEnv %s %s: %w", path, EnvVar, value, err)
	}
	return abs, nil
}

// setEnvValue returns the value of the last "SetEnv APIE_CONFIG value"
// directive read from r, or "". It reads lines as Apache does: a
// backslash at the end joins the next line, '#' starts a comment line,
// the directive's name is case-insensitive, the variable's name is not.
func setEnvValue(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	value := ""
	line := ""
	for sc.Scan() {
		text := strings.TrimRight(sc.Text(), " \t\r")
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont
			continue
		}
		line += text
		words := confWords(line)
		line = ""
		if len(words) == 3 && strings.EqualFold(words[0], "SetEnv") && words[1] == EnvVar {
			value = words[2]
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return value, nil
}

// confWords splits a configuration line into words as Apache's
// ap_getword_conf does: white space separates them, and a word that starts
// with a double or single quote runs to the matching quote, where a
// backslash before that quote keeps it in the word. A comment line has
// no words.
func confWords(line string) []string {
	var words []string
	s := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(s, "#") {
		return nil
	}
	for s != "" {
		var w string
		if q := s[0]; q == '"' || q == '\'' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == q {
					i++
				}
				b.WriteByte(s[i])
			}
			w, s = b.String(), s[min(i+1, len(s)):]
		} else {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			w, s = s[:end], s[end:]
		}
		words = append(words, w)
		s = strings.TrimLeft(s, " \t")
	}
	return words
}
