// Emits the `Py_3_X` cfgs so the inventory can use function watchers on 3.12+.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
