"""jupyter_kernel_test's conformance suite against azq, every sample drawn from a real
feature of the kernel (no test-only magics)."""

import unittest

import jupyter_kernel_test


class AzqKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "azq"
    language_name = "rust"
    file_extension = ".rs"

    # %env echoes what it sets, as IPython's does.
    code_hello_world = "%env GREETING=hello, world"
    # %%bash streams the script's stderr.
    code_stderr = "%%bash\necho 'disk almost full' >&2"
    # `?` after a magic shows its help in the pager.
    code_page_something = "%env?"
    # An unknown magic is an error with a suggestion.
    code_generate_error = "%lsmagik"
    # %env NAME is the variable's value.
    code_execute_result = [
        {"code": "%env AZQ_SAMPLE=42\n%env AZQ_SAMPLE", "result": "42"},
    ]
    code_history_pattern = "%env AZQ_SAMPLE=*"
    supported_history_operations = ("tail", "range", "search")
    code_display_data = [
        {"code": "%%html\n<b>bold</b>", "mime": "text/html"},
        {"code": "%%markdown\n# Results", "mime": "text/markdown"},
    ]
    code_clear_output = "%clear"
    code_inspect_sample = "%env"
    completion_samples = [
        {"text": "%ls", "matches": {"%lsmagic"}},
        {"text": "%%ba", "matches": {"%%bash"}},
        {"text": "%env --un", "matches": {"--unset"}},
    ]
    complete_code_samples = ["%lsmagic", "%%bash\necho hi", "%env A=1\n%env B=2"]
    incomplete_code_samples = ["%env A=\\", "%%bash", "fn main() {"]
    invalid_code_samples = ["fn main() }", "let v = [1, 2);"]


class AzqIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "azq"
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
