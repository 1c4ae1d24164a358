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


class AzqRustKernelTests(jupyter_kernel_test.KernelTests):
    """The same suite with Rust cells (run by the azq-rust companion, `make rust`): every test
    has a sample, so none is skipped. evcxr_jupyter 0.22 passes 9 of these 13."""

    kernel_name = "azq"
    language_name = "rust"
    file_extension = ".rs"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The companion's first start and compile take seconds; the suite allows 15 s a
        # request, which a loaded machine may need for that alone.
        cls.kc.execute_interactive("let warmed_up = true;", timeout=120)

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("careful: {}", 1 + 1);'
    code_page_something = "%rust.reset?"
    # A compile error is one error output: rustc's message with the cell's line and a caret.
    code_generate_error = 'let n: i32 = "forty-two";'
    code_execute_result = [
        {"code": "let answer = 40 + 2; answer", "result": "42"},
        {"code": 'format!("{}-{}", "azq", 1)', "result": '"azq-1"'},
    ]
    code_history_pattern = "let answer = 40*"
    supported_history_operations = ("tail", "range", "search")
    # evcxr_display: a type that shows itself as HTML is a display, not a result.
    code_display_data = [
        {
            "code": "pub struct Bold(pub &'static str);\n"
            "impl Bold {\n"
            "    pub fn evcxr_display(&self) {\n"
            '        println!("EVCXR_BEGIN_CONTENT text/html\\n<b>{}</b>\\nEVCXR_END_CONTENT", self.0);\n'
            "    }\n"
            "}\n"
            'Bold("qubits")',
            "mime": "text/html",
        },
    ]
    # Rust output, then `%clear` in the same cell.
    code_clear_output = 'println!("working");\n%clear'
    code_inspect_sample = "/// Counts the qubits of a register.\nfn qubit_count() -> u32 { 2 }\nqubit_count"
    completion_samples = [
        {"text": "let zebra_count = 3;\nzebra_c", "matches": {"zebra_count"}},
    ]
    complete_code_samples = ["let x = 1;", "fn f() -> char { '{' }", 'let s = "}";']
    incomplete_code_samples = ["fn main() {", 'let s = "open', "let v = vec![1,\n", "/* note"]
    invalid_code_samples = ["fn main() }", "let v = [1, 2);"]


class AzqIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "azq"
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
