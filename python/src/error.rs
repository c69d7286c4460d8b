//! Engine errors as Python exceptions.
//!
//! The exception classes live in the pure-Python module `tidestore._errors` (so they can
//! inherit from two bases: `tidestore.Error` and the matching built-in, e.g.
//! `InvalidArgumentError(Error, ValueError)`); this module looks each class up once and
//! raises it with the engine's message.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use tidestore::Error;

const ERRORS: &str = "tidestore._errors";

/// One exception class of `tidestore._errors`, looked up once.
struct Class {
    name: &'static str,
    cell: PyOnceLock<Py<PyType>>,
}

impl Class {
    const fn new(name: &'static str) -> Class {
        Class {
            name,
            cell: PyOnceLock::new(),
        }
    }

    fn get<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyType>> {
        self.cell.import(py, ERRORS, self.name)
    }
}

static BASE: Class = Class::new("Error");
static INVALID: Class = Class::new("InvalidArgumentError");
static NOT_FOUND: Class = Class::new("NotFoundError");
static CORRUPTION: Class = Class::new("CorruptionError");
static VERSION: Class = Class::new("UnsupportedVersionError");
static LOCKED: Class = Class::new("LockedError");
static POISONED: Class = Class::new("PoisonedError");
static IO: Class = Class::new("IoError");
static CLOSED: Class = Class::new("ClosedError");

/// Why a native call failed before or inside the engine.
#[derive(Debug)]
pub enum Failure {
    /// The engine refused or failed.
    Engine(Error),
    /// The handle was closed.
    Closed(&'static str),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

impl Failure {
    /// The Python exception for this failure.
    pub fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Engine(e) => engine(py, e),
            Failure::Closed(what) => {
                raise(py, &CLOSED, (format!("the {what} is closed"),), no_attrs)
            }
        }
    }
}

/// The Python exception for an engine error.
pub fn engine(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidArgument(_) => raise(py, &INVALID, (msg,), no_attrs),
        Error::NotFound(_) => raise(py, &NOT_FOUND, (msg,), no_attrs),
        Error::Corruption { file, offset, what } => raise(py, &CORRUPTION, (msg,), |exc| {
            exc.setattr("file", file.display().to_string())?;
            exc.setattr("offset", offset)?;
            exc.setattr("what", what)
        }),
        Error::UnsupportedVersion { file, .. } => raise(py, &VERSION, (msg,), |exc| {
            exc.setattr("file", file.display().to_string())
        }),
        Error::Locked(path) => raise(py, &LOCKED, (msg,), |exc| {
            exc.setattr("path", path.display().to_string())
        }),
        Error::Poisoned(_) => raise(py, &POISONED, (msg,), no_attrs),
        Error::Io(io) => match io.raw_os_error() {
            // OSError(errno, strerror) fills `errno` and `strerror` like the built-in.
            Some(errno) => raise(py, &IO, (errno, msg), no_attrs),
            None => raise(py, &IO, (msg,), no_attrs),
        },
        _ => raise(py, &BASE, (msg,), no_attrs),
    }
}

/// An `InvalidArgumentError` (a `ValueError`) with `msg`, for bad input the binding
/// itself detects.
pub fn invalid(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    raise(py, &INVALID, (msg.into(),), no_attrs)
}

fn no_attrs(_: &Bound<'_, PyAny>) -> PyResult<()> {
    Ok(())
}

/// An instance of `class` made with `args`, given its attributes by `attrs`.
fn raise<'py, A, F>(py: Python<'py>, class: &Class, args: A, attrs: F) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
    F: FnOnce(&Bound<'py, PyAny>) -> PyResult<()>,
{
    let build = || -> PyResult<PyErr> {
        let exc = class.get(py)?.call1(args)?;
        attrs(&exc)?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| {
        PyRuntimeError::new_err(format!("tidestore could not raise {} ({e})", class.name))
    })
}
