//! `wasi:io/streams` for the guest: wasmtime-wasi's implementation, with its
//! blocking calls polled once by [`now`](super::filesystem::now) instead of
//! run under tokio's `block_on`, which panics on a tokio worker thread. The
//! guest has no stdio (its streams are sinks and empty inputs, always
//! ready); Rust's standard library still writes a panic message to stderr,
//! and that write must not take the host down with it.

use super::filesystem::now;
use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::io::poll::Pollable;
use wasmtime_wasi::p2::bindings::sync::io::streams::{self, InputStream, OutputStream};
use wasmtime_wasi::p2::{StreamError, StreamResult};
use wasmtime_wasi_io::bindings::wasi::io::streams::{HostInputStream as AsyncInput, HostOutputStream as AsyncOutput};

/// The linker's handle on [`Streams`].
pub(crate) struct StreamsData;

impl HasData for StreamsData {
    type Data<'a> = Streams<'a>;
}

/// The resource table, seen as the guest's streams.
pub(crate) struct Streams<'a>(pub(crate) &'a mut ResourceTable);

type Out = Resource<OutputStream>;
type In = Resource<InputStream>;

impl streams::Host for Streams<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.0, err)
    }
}

impl streams::HostOutputStream for Streams<'_> {
    fn drop(&mut self, stream: Out) -> wasmtime::Result<()> {
        now(AsyncOutput::drop(self.0, stream))
    }
    fn check_write(&mut self, stream: Out) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(self.0, stream)
    }
    fn write(&mut self, stream: Out, bytes: Vec<u8>) -> StreamResult<()> {
        streams::HostOutputStream::write(self.0, stream, bytes)
    }
    fn blocking_write_and_flush(&mut self, stream: Out, bytes: Vec<u8>) -> StreamResult<()> {
        now(AsyncOutput::blocking_write_and_flush(self.0, stream, bytes))
    }
    fn blocking_write_zeroes_and_flush(&mut self, stream: Out, len: u64) -> StreamResult<()> {
        now(AsyncOutput::blocking_write_zeroes_and_flush(self.0, stream, len))
    }
    fn subscribe(&mut self, stream: Out) -> wasmtime::Result<Resource<Pollable>> {
        streams::HostOutputStream::subscribe(self.0, stream)
    }
    fn write_zeroes(&mut self, stream: Out, len: u64) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(self.0, stream, len)
    }
    fn flush(&mut self, stream: Out) -> StreamResult<()> {
        streams::HostOutputStream::flush(self.0, stream)
    }
    fn blocking_flush(&mut self, stream: Out) -> StreamResult<()> {
        now(AsyncOutput::blocking_flush(self.0, Resource::new_borrow(stream.rep())))
    }
    fn splice(&mut self, dst: Out, src: In, len: u64) -> StreamResult<u64> {
        streams::HostOutputStream::splice(self.0, dst, src, len)
    }
    fn blocking_splice(&mut self, dst: Out, src: In, len: u64) -> StreamResult<u64> {
        now(AsyncOutput::blocking_splice(self.0, dst, src, len))
    }
}

impl streams::HostInputStream for Streams<'_> {
    fn drop(&mut self, stream: In) -> wasmtime::Result<()> {
        now(AsyncInput::drop(self.0, stream))
    }
    fn read(&mut self, stream: In, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(self.0, stream, len)
    }
    fn blocking_read(&mut self, stream: In, len: u64) -> StreamResult<Vec<u8>> {
        now(AsyncInput::blocking_read(self.0, stream, len))
    }
    fn skip(&mut self, stream: In, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(self.0, stream, len)
    }
    fn blocking_skip(&mut self, stream: In, len: u64) -> StreamResult<u64> {
        now(AsyncInput::blocking_skip(self.0, stream, len))
    }
    fn subscribe(&mut self, stream: In) -> wasmtime::Result<Resource<Pollable>> {
        streams::HostInputStream::subscribe(self.0, stream)
    }
}
