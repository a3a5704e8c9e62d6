"""Template tests: cfn-lint, the project's custom checks, ASL structure and template <-> code contracts."""
