// The CMKKMS module; see ../../README.md.
