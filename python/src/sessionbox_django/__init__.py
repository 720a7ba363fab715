"""Django session engines whose storage is the sessionbox component.

`sessionbox_django.file` is a drop-in for `django.contrib.sessions.backends.file`:
the same files, byte for byte, written and read by the sessionbox WebAssembly
component (wit/sessionbox.wit) through wasmtime. See python/README.md.
"""

#: This package's version: always the version of the component's WIT package
#: (`sessionbox:store@<version>`) whose interfaces it calls.
__version__ = "0.5.1"
