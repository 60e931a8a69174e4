// The CMKWorkflow module; see ../../README.md.
