"""The project's own checkov checks (``checkov --external-checks-dir checks/checkov``).

checkov imports every ``.py`` file here by its file name, so the names are prefixed ``bp_`` to stay
clear of other modules. The checks run on the raw SAM templates and on their translation
(``make translate``); tests/template/test_custom_checks.py proves each one on a bad and a good fixture.
"""
