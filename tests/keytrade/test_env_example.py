""".env.example documents exactly the variables keytrade/settings.py reads."""

import re

from tests.processes import ROOT

READ_RE = re.compile(r"""\b(?:env(?:\.\w+)?|_required_secret)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
LISTED_RE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
COMPOSE_RE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def variables_read_by_settings() -> set[str]:
    return set(READ_RE.findall((ROOT / "keytrade" / "settings.py").read_text()))


def variables_interpolated_by_compose() -> set[str]:
    return set(COMPOSE_RE.findall((ROOT / "docker-compose.yml").read_text()))


def variables_listed_in_env_example() -> set[str]:
    return set(LISTED_RE.findall((ROOT / ".env.example").read_text()))


def test_the_settings_parser_finds_the_variables_it_should():
    found = variables_read_by_settings()
    assert {"SECRET_KEY", "CRYPTOGRAPHY_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG"} <= found


def test_every_variable_settings_reads_is_in_env_example():
    missing = variables_read_by_settings() - variables_listed_in_env_example()
    assert not missing, f"add to .env.example with a comment: {sorted(missing)}"


def test_every_variable_docker_compose_interpolates_is_in_env_example():
    missing = variables_interpolated_by_compose() - variables_listed_in_env_example()
    assert not missing, f"add to .env.example with a comment: {sorted(missing)}"


def test_env_example_lists_no_variable_nothing_reads():
    readers = variables_read_by_settings() | variables_interpolated_by_compose()
    stale = variables_listed_in_env_example() - readers
    assert not stale, f"neither settings.py nor docker-compose.yml reads: {sorted(stale)}"


def test_every_listed_variable_has_a_comment_above_it():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if LISTED_RE.match(line):
            block = number
            while block > 0 and LISTED_RE.match(lines[block - 1]):
                block -= 1  # variables grouped under one comment share it
            above = lines[block - 1] if block else ""
            assert above.startswith("#") and not LISTED_RE.match(above), line


def test_env_example_holds_no_secret_values():
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if LISTED_RE.match(line) and not line.startswith("#")
    )
    assert values["SECRET_KEY"] == ""
    assert values["CRYPTOGRAPHY_KEY"] == ""
    assert values["POSTGRES_PASSWORD"] == ""


def test_the_readme_configuration_table_documents_every_variable():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    undocumented = {name for name in variables_listed_in_env_example() if f"`{name}`" not in table}
    assert not undocumented, f"add to the README configuration table: {sorted(undocumented)}"
