//! Merges the small WASM chunks of the split release bundle into one file (`site-build` runs it
//! after wasm-split, before wasm-opt, which then optimizes one module where it would have started
//! for hundreds).
//!
//! wasm-split puts every function the lazy pages share into a chunk of its own per set of pages
//! that use it. With 33 lazy pages that makes hundreds of chunks, most under 1 KB and a third of
//! them empty: the session page fetched 450, each compressed alone and queued six at a time by the
//! browser over HTTP/1.1. This tool merges the chunks whose code is under a size into one module,
//! `chunks_merged.wasm`, that every page loading any of them loads instead.
//!
//! It relies on the shape wasm-split gives a chunk: it imports only the main module's memory,
//! table and globals (from `__wasm_split`), defines functions and puts them in the shared table
//! with active element segments, and exports nothing. Calls between modules go through the table,
//! so a function's index inside its module is private and can be renumbered. A chunk of any other
//! shape is left as it is. The loader (`__wasm_split.*.js`) and the manifest the server reads for
//! its preload links are rewritten to match; any surprise in them leaves the folder untouched.

pub mod hashing;
pub mod names;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{BinaryReaderError, Parser, Payload, TypeRef, Validator, WasmFeatures};

/// The name (without `.wasm`) of the module the small chunks become.
pub const MERGED: &str = "chunks_merged";
/// The module every chunk imports the main module's memory, table and globals from.
const SHARED_MODULE: &str = "__wasm_split";

/// What a run did, for the build's log.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// These chunks became `chunks_merged.wasm`, of this many bytes.
    Merged { chunks: Vec<String>, bytes: usize },
    /// The folder was merged by an earlier run.
    AlreadyMerged,
    /// No chunk was small enough, or of the shape merged.
    Nothing,
}

/// Why a folder was not merged (and is left as it was).
#[derive(Debug, thiserror::Error)]
pub enum NotMerged {
    #[error("{}: {error}", .path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("no __wasm_split.*.js loader in the folder")]
    NoLoader,
    #[error("more than one __wasm_split.*.js loader in the folder")]
    SeveralLoaders,
    #[error(transparent)]
    Json(#[from] JsonUnread),
    #[error(transparent)]
    Merge(#[from] MergeFailed),
    #[error(transparent)]
    Loader(#[from] LoaderUnexpected),
    #[error(transparent)]
    Manifest(#[from] ManifestUnexpected),
    #[error("{0}")]
    Serialize(serde_json::Error),
}

/// Why the chunks could not be merged into one module.
#[derive(Debug, thiserror::Error)]
pub enum MergeFailed {
    #[error("{name}: {problem}")]
    Chunk { name: String, problem: BadChunk },
    #[error("the merged module does not validate: {0}")]
    Invalid(BinaryReaderError),
}

/// Why a chunk of the shape merged could not be added after all.
#[derive(Debug, thiserror::Error)]
pub enum BadChunk {
    #[error(transparent)]
    Unreadable(#[from] BinaryReaderError),
    #[error("{}", describe(.0))]
    Reencode(ReencodeError<OutOfRange>),
    #[error("an import it cannot merge ({0})")]
    Import(String),
    /// The same name, imported as another type by a chunk merged before.
    #[error("{name} is imported as {ty} here, as {seen} before")]
    ImportClash { name: String, ty: String, seen: String },
}

/// Why a chunk is not of the shape merged (it stays a file of its own).
#[derive(Debug, thiserror::Error)]
pub enum Unmergeable {
    #[error(transparent)]
    Unreadable(#[from] BinaryReaderError),
    #[error("a recursive type group")]
    RecursiveTypes,
    #[error("an import from {0}")]
    ForeignImport(String),
    #[error("a function or tag import ({0})")]
    FunctionImport(String),
    /// The section, as `wasmparser` shows it.
    #[error("a section it cannot merge ({0})")]
    Section(String),
    #[error("a data segment with bytes")]
    Data,
}

/// An index a chunk uses that its own imports do not define.
#[derive(Debug, thiserror::Error)]
#[error("index {0} out of range")]
pub struct OutOfRange(u32);

/// Why the loader cannot be rewritten: wasm-split wrote it otherwise than this tool expects.
#[derive(Debug, thiserror::Error)]
pub enum LoaderUnexpected {
    #[error("no chunk to merge")]
    NoChunks,
    #[error("the loader of {0} is not where expected")]
    Missing(String),
    #[error("the loader of {0} is not written as expected")]
    Rewritten(String),
}

/// Why the split manifest cannot be rewritten: it is not a map of splits to chunk names.
#[derive(Debug, thiserror::Error)]
pub enum ManifestUnexpected {
    #[error("the manifest is not an object")]
    NotAnObject,
    #[error("{0}: not a list")]
    NotAList(String),
    #[error("{0}: not a name")]
    NotAName(String),
}

/// Why a JSON file could not be read, its path first.
#[derive(Debug, thiserror::Error)]
pub enum JsonUnread {
    #[error("{}: {error}", .path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}: {error}", .path.display())]
    Json { path: PathBuf, error: serde_json::Error },
}

/// Merges the chunks of `pkg` whose code is smaller than `under` bytes (`code_bytes`). Writes
/// nothing unless every step succeeded in memory first.
pub fn run(pkg: &Path, under: usize) -> Result<Outcome, NotMerged> {
    let files = list(pkg)?;
    let loader_path = loader_path(&files)?;
    let loader = fs::read_to_string(&loader_path).map_err(at(&loader_path))?;
    // The loader is written before the manifest: once it fetches the merged module, the folder
    // was merged (or a stopped run left it half done, which release_build builds anew).
    if loader.contains(&format!("./{MERGED}.wasm")) {
        return Ok(Outcome::AlreadyMerged);
    }
    let manifest_path = pkg.join("__wasm_split_manifest.json");
    let manifest = read_json(&manifest_path)?;
    let small = small_chunks(files, &loader, |bytes| code_bytes(bytes).is_ok_and(|size| size < under))?;
    let (module, chunks) = merge_modules(&small)?;
    if chunks.len() < 2 {
        return Ok(Outcome::Nothing);
    }
    let loader = rewrite_loader(&loader, &chunks)?;
    let manifest = rewrite_manifest(&manifest, &chunks)?;
    commit(pkg, &module, (&loader_path, &loader), (&manifest_path, &manifest), &chunks)?;
    Ok(Outcome::Merged { chunks, bytes: module.len() })
}

/// After wasm-opt: the chunks `run` left apart that are now files under `under` bytes, merged
/// into the merged module. `run` measures code before wasm-opt, which cannot tell every chunk
/// wasm-opt will shrink below a kilobyte (11 of 499 in the build it was measured on); this takes
/// them too, so a page fetches no more files than a merge of the optimized chunks gives. Nothing
/// when `run` merged nothing.
pub fn top_up(pkg: &Path, under: usize) -> Result<Outcome, NotMerged> {
    let files = list(pkg)?;
    let loader_path = loader_path(&files)?;
    let loader = fs::read_to_string(&loader_path).map_err(at(&loader_path))?;
    let merged_path = pkg.join(format!("{MERGED}.wasm"));
    if !loader.contains(&chunk_loader(MERGED)) || !merged_path.exists() {
        return Ok(Outcome::Nothing);
    }
    let manifest_path = pkg.join("__wasm_split_manifest.json");
    let manifest = read_json(&manifest_path)?;
    let small = small_chunks(files, &loader, |bytes| bytes.len() < under)?;
    if small.is_empty() {
        return Ok(Outcome::Nothing);
    }
    let mut inputs = vec![(MERGED.to_owned(), fs::read(&merged_path).map_err(at(&merged_path))?)];
    inputs.extend(small);
    let (module, mut chunks) = merge_modules(&inputs)?;
    // The merged module first: when wasm-opt left it of a shape not merged, it is left as it is.
    if chunks.first().is_none_or(|first| first != MERGED) || chunks.len() < 2 {
        return Ok(Outcome::Nothing);
    }
    let loader = top_up_loader(&loader, &chunks[1..])?;
    let manifest = rewrite_manifest(&manifest, &chunks)?;
    chunks.remove(0);
    commit(pkg, &module, (&loader_path, &loader), (&manifest_path, &manifest), &chunks)?;
    Ok(Outcome::Merged { chunks, bytes: module.len() })
}

fn list(pkg: &Path) -> Result<Vec<PathBuf>, NotMerged> {
    fs::read_dir(pkg)
        .map_err(at(pkg))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(at(pkg))
}

/// The chunks of this build (those the loader loads) that `small` accepts, in their numbers'
/// order: the same input gives the same module, whatever order the folder lists its files in.
fn small_chunks(
    files: Vec<PathBuf>,
    loader: &str,
    small: impl Fn(&[u8]) -> bool,
) -> Result<Vec<(String, Vec<u8>)>, NotMerged> {
    let mut found = Vec::new();
    for path in files {
        if path.extension().is_some_and(|e| e == "merging") {
            // Left by a run that was stopped while writing.
            fs::remove_file(&path).map_err(at(&path))?;
            continue;
        }
        let Some(name) = chunk_name(&path) else { continue };
        // A file the loader does not load (left by an earlier build) is not this build's chunk.
        if !loader.contains(&chunk_loader(&name)) {
            continue;
        }
        let bytes = fs::read(&path).map_err(at(&path))?;
        if small(&bytes) {
            found.push((name, bytes));
        }
    }
    found.sort_by_key(|(name, _)| chunk_number(name));
    Ok(found)
}

/// Writes the merged module, the loader, then the manifest, and removes the merged chunks.
fn commit(
    pkg: &Path,
    module: &[u8],
    (loader_path, loader): (&Path, &str),
    (manifest_path, manifest): (&Path, &Value),
    chunks: &[String],
) -> Result<(), NotMerged> {
    write(&pkg.join(format!("{MERGED}.wasm")), module)?;
    write(loader_path, loader.as_bytes())?;
    let manifest = serde_json::to_string_pretty(manifest).map_err(NotMerged::Serialize)?;
    write(manifest_path, manifest.as_bytes())?;
    for name in chunks {
        let path = pkg.join(format!("{name}.wasm"));
        fs::remove_file(&path).map_err(at(&path))?;
    }
    Ok(())
}

/// Merges the modules of `chunks` that have the shape of a wasm-split chunk; returns the merged
/// module (validated) and the names of the chunks in it, in their order.
pub fn merge_modules(chunks: &[(String, Vec<u8>)]) -> Result<(Vec<u8>, Vec<String>), MergeFailed> {
    let mut merger = Merger::default();
    let mut merged = Vec::new();
    for (name, bytes) in chunks {
        if mergeable(bytes).is_ok() {
            merger.add(bytes).map_err(|problem| MergeFailed::Chunk { name: name.clone(), problem })?;
            merged.push(name.clone());
        }
    }
    let module = merger.finish();
    Validator::new_with_features(WasmFeatures::default()).validate_all(&module).map_err(MergeFailed::Invalid)?;
    Ok((module, merged))
}

/// The bytes of a module's functions, element segments and code: what is left of a chunk once
/// wasm-opt has dropped what it does not use (wasm-split gives every chunk the main module's
/// whole type section, empty data segments and two custom sections, a kilobyte before a line of
/// code).
pub fn code_bytes(bytes: &[u8]) -> Result<usize, BinaryReaderError> {
    let mut size = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::FunctionSection(section) => size += section.range().len(),
            Payload::ElementSection(section) => size += section.range().len(),
            Payload::CodeSectionStart { size: code, .. } => size += code as usize,
            _ => {}
        }
    }
    Ok(size)
}

/// Whether a module has the shape merged: imports of memory, tables and globals from
/// `__wasm_split` only; types, functions, element segments and code; custom sections, an empty
/// export section, a data count and data segments without bytes, as wasm-split writes a chunk
/// before wasm-opt (all dropped).
pub fn mergeable(bytes: &[u8]) -> Result<(), Unmergeable> {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version { .. }
            | Payload::FunctionSection(_)
            | Payload::ElementSection(_)
            | Payload::CodeSectionStart { .. }
            | Payload::CodeSectionEntry(_)
            | Payload::CustomSection(_)
            | Payload::DataCountSection { .. }
            | Payload::End(_) => {}
            Payload::ExportSection(exports) if exports.count() == 0 => {}
            Payload::DataSection(segments) => {
                for segment in segments {
                    if !segment?.data.is_empty() {
                        return Err(Unmergeable::Data);
                    }
                }
            }
            Payload::TypeSection(types) => {
                for group in types {
                    if group?.is_explicit_rec_group() {
                        return Err(Unmergeable::RecursiveTypes);
                    }
                }
            }
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    let import = import?;
                    if import.module != SHARED_MODULE {
                        return Err(Unmergeable::ForeignImport(import.module.to_owned()));
                    }
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_) | TypeRef::Tag(_)) {
                        return Err(Unmergeable::FunctionImport(import.name.to_owned()));
                    }
                }
            }
            other => return Err(Unmergeable::Section(format!("{other:?}"))),
        }
    }
    Ok(())
}

/// The merged module as it grows: sections filled chunk by chunk.
#[derive(Default)]
struct Merger {
    types: wasm_encoder::TypeSection,
    /// Each distinct type, encoded alone, to its index.
    type_index: HashMap<Vec<u8>, u32>,
    imports: wasm_encoder::ImportSection,
    /// (name, kind) of each import, to its index in its kind's space and its type (which every
    /// chunk importing it must give alike).
    import_index: HashMap<(String, u8), (u32, String)>,
    tables: u32,
    memories: u32,
    globals: u32,
    functions: wasm_encoder::FunctionSection,
    function_count: u32,
    elements: wasm_encoder::ElementSection,
    code: wasm_encoder::CodeSection,
}

/// One chunk's indices in the merged module.
#[derive(Default)]
struct Renumber {
    types: Vec<u32>,
    tables: Vec<u32>,
    memories: Vec<u32>,
    globals: Vec<u32>,
    first_function: u32,
    first_element: u32,
}

fn index(space: &[u32], at: u32) -> Result<u32, ReencodeError<OutOfRange>> {
    space.get(at as usize).copied().ok_or(ReencodeError::UserError(OutOfRange(at)))
}

impl Reencode for Renumber {
    type Error = OutOfRange;

    fn type_index(&mut self, ty: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        index(&self.types, ty)
    }

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        Ok(self.first_function + func)
    }

    /// For `table.init` and `elem.drop`: the chunk's segments follow those merged before it.
    fn element_index(&mut self, element: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        Ok(self.first_element + element)
    }

    fn table_index(&mut self, table: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        index(&self.tables, table)
    }

    fn memory_index(&mut self, memory: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        index(&self.memories, memory)
    }

    fn global_index(&mut self, global: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        index(&self.globals, global)
    }
}

impl Merger {
    /// Adds one chunk (of the shape `mergeable` accepts).
    fn add(&mut self, bytes: &[u8]) -> Result<(), BadChunk> {
        let mut renumber =
            Renumber { first_function: self.function_count, first_element: self.elements.len(), ..Renumber::default() };
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::TypeSection(types) => {
                    for group in types {
                        let group = group?;
                        // Types hold no indices here (no recursive groups): encoded alone, equal
                        // types are equal bytes.
                        let mut alone = wasm_encoder::TypeSection::new();
                        renumber.parse_recursive_type_group(alone.ty(), group.clone()).map_err(BadChunk::Reencode)?;
                        let mut key = Vec::new();
                        wasm_encoder::Encode::encode(&alone, &mut key);
                        let at = match self.type_index.get(&key) {
                            Some(&at) => at,
                            None => {
                                let at = self.types.len();
                                renumber
                                    .parse_recursive_type_group(self.types.ty(), group)
                                    .map_err(BadChunk::Reencode)?;
                                self.type_index.insert(key, at);
                                at
                            }
                        };
                        renumber.types.push(at);
                    }
                }
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        let import = import?;
                        let entity = renumber.entity_type(import.ty).map_err(BadChunk::Reencode)?;
                        // Its kind, the merged module's count of that kind, the chunk's renumbering.
                        let (kind, space, renumbered) = match import.ty {
                            TypeRef::Table(_) => (1, &mut self.tables, &mut renumber.tables),
                            TypeRef::Memory(_) => (2, &mut self.memories, &mut renumber.memories),
                            TypeRef::Global(_) => (3, &mut self.globals, &mut renumber.globals),
                            _ => return Err(BadChunk::Import(import.name.to_owned())),
                        };
                        let key = (import.name.to_owned(), kind);
                        let ty = format!("{:?}", import.ty);
                        let at = match self.import_index.get(&key) {
                            Some((at, seen)) if *seen == ty => *at,
                            Some((_, seen)) => {
                                let (name, seen) = (import.name.to_owned(), seen.clone());
                                return Err(BadChunk::ImportClash { name, ty, seen });
                            }
                            None => {
                                let at = *space;
                                *space += 1;
                                self.imports.import(SHARED_MODULE, import.name, entity);
                                self.import_index.insert(key, (at, ty));
                                at
                            }
                        };
                        renumbered.push(at);
                    }
                }
                Payload::FunctionSection(functions) => {
                    for ty in functions {
                        let ty = ty?;
                        self.functions.function(renumber.type_index(ty).map_err(BadChunk::Reencode)?);
                        self.function_count += 1;
                    }
                }
                Payload::ElementSection(elements) => {
                    renumber.parse_element_section(&mut self.elements, elements).map_err(BadChunk::Reencode)?;
                }
                Payload::CodeSectionEntry(body) => {
                    renumber.parse_function_body(&mut self.code, body).map_err(BadChunk::Reencode)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        let mut module = wasm_encoder::Module::new();
        module.section(&self.types);
        module.section(&self.imports);
        module.section(&self.functions);
        module.section(&self.elements);
        module.section(&self.code);
        module.finish()
    }
}

/// A re-encoding's failure in words: the parser's own, not wasm-encoder's "There was an error
/// when parsing".
fn describe(error: &ReencodeError<OutOfRange>) -> String {
    match error {
        ReencodeError::UserError(out_of_range) => out_of_range.to_string(),
        ReencodeError::ParseError(error) => error.to_string(),
        other => format!("{other:?}"),
    }
}

/// How wasm-split writes a chunk's loader, which the merged module's replaces.
fn chunk_loader(name: &str) -> String {
    format!(
        "const __{name} = makeLoad(() => {{\n    const src = fetch(new URL(\"./{name}.wasm\", import.meta.url));\n    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));\n}}\n, []);\n"
    )
}

/// The loader with each merged chunk's loader replaced by the merged module's (one loader, so it
/// is fetched and instantiated once whichever chunk a page asks for first).
pub fn rewrite_loader(js: &str, chunks: &[String]) -> Result<String, LoaderUnexpected> {
    let mut js = js.to_owned();
    let first = chunks.first().ok_or(LoaderUnexpected::NoChunks)?;
    let at = js.find(&chunk_loader(first)).ok_or_else(|| LoaderUnexpected::Missing(first.clone()))?;
    js.insert_str(at, &chunk_loader(MERGED));
    point_at_merged(js, chunks)
}

/// A merged loader (`rewrite_loader`'s) with more chunks pointed at the merged module, whose
/// loader moves up before the first of them if it was below (a `const` is not read before it is
/// defined).
pub fn top_up_loader(js: &str, chunks: &[String]) -> Result<String, LoaderUnexpected> {
    let merged = chunk_loader(MERGED);
    let mut js = js.to_owned();
    let current = js.find(&merged).ok_or_else(|| LoaderUnexpected::Missing(MERGED.to_owned()))?;
    let mut first = current;
    for name in chunks {
        let at = js.find(&chunk_loader(name)).ok_or_else(|| LoaderUnexpected::Missing(name.clone()))?;
        first = first.min(at);
    }
    if first < current {
        js.replace_range(current..current + merged.len(), "");
        js.insert_str(first, &merged);
    }
    point_at_merged(js, chunks)
}

/// Each chunk's loader replaced by the merged module's.
fn point_at_merged(mut js: String, chunks: &[String]) -> Result<String, LoaderUnexpected> {
    for name in chunks {
        let loader = chunk_loader(name);
        if js.matches(&loader).count() != 1 {
            return Err(LoaderUnexpected::Rewritten(name.clone()));
        }
        js = js.replacen(&loader, &format!("const __{name} = __{MERGED};\n"), 1);
    }
    Ok(js)
}

/// The manifest (each lazy split's chunks, which the server names in a page's `<head>`) with the
/// merged chunks replaced by the merged module, once, where the first of them was.
pub fn rewrite_manifest(manifest: &Value, chunks: &[String]) -> Result<Value, ManifestUnexpected> {
    let splits = manifest.as_object().ok_or(ManifestUnexpected::NotAnObject)?;
    let mut out = serde_json::Map::new();
    for (split, files) in splits {
        let files = files.as_array().ok_or_else(|| ManifestUnexpected::NotAList(split.clone()))?;
        let mut kept = Vec::new();
        let mut merged = false;
        for file in files {
            let name = file.as_str().ok_or_else(|| ManifestUnexpected::NotAName(split.clone()))?;
            if chunks.iter().any(|c| c == name) {
                if !merged {
                    kept.push(Value::from(MERGED));
                    merged = true;
                }
            } else {
                kept.push(file.clone());
            }
        }
        out.insert(split.clone(), Value::Array(kept));
    }
    Ok(Value::Object(out))
}

fn chunk_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.strip_suffix(".wasm")?;
    chunk_number(name).map(|_| name.to_owned())
}

fn chunk_number(name: &str) -> Option<u32> {
    name.strip_prefix("chunk_")?.parse().ok()
}

/// The one `__wasm_split.*.js` among the folder's `files`.
pub(crate) fn loader_path(files: &[PathBuf]) -> Result<PathBuf, NotMerged> {
    let mut found = files.iter().filter(|path| {
        path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("__wasm_split.") && n.ends_with(".js"))
    });
    let path = found.next().ok_or(NotMerged::NoLoader)?;
    if found.next().is_some() {
        return Err(NotMerged::SeveralLoaders);
    }
    Ok(path.clone())
}

/// A JSON file, or what is wrong with it (its path first).
pub fn read_json(path: &Path) -> Result<Value, JsonUnread> {
    let text = fs::read_to_string(path).map_err(|error| JsonUnread::Io { path: path.to_owned(), error })?;
    serde_json::from_str(&text).map_err(|error| JsonUnread::Json { path: path.to_owned(), error })
}

/// An I/O failure on `path`, which it names first.
pub(crate) fn at(path: &Path) -> impl Fn(std::io::Error) -> NotMerged + '_ {
    move |error| NotMerged::Io { path: path.to_owned(), error }
}

/// Written under a temporary name, then renamed: a stopped run leaves no half-written file.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), NotMerged> {
    let temporary = path.with_extension("merging");
    fs::write(&temporary, bytes).map_err(at(&temporary))?;
    fs::rename(&temporary, path).map_err(at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind, ExportSection, Function,
        FunctionSection, GlobalType, ImportSection, Instruction, MemoryType, Module, RefType, TableType, TypeSection,
        ValType,
    };

    /// A module shaped as wasm-split writes a chunk: the shared table, memory and global
    /// imported; two functions, the second calling the first; both put in the table at `slot`.
    fn chunk(slot: i32, export: bool) -> Vec<u8> {
        chunk_of(slot, Shape { export, ..Shape::default() })
    }

    /// What a test chunk has beyond `chunk`'s.
    #[derive(Default)]
    struct Shape<'a> {
        /// An export of the first function.
        export: bool,
        /// As wasm-split writes it before wasm-opt: a type no function uses, an empty export
        /// section, a data count, an active data segment of these bytes, a `producers` section.
        before_wasm_opt: Option<&'a [u8]>,
        /// `nop`s in the first function, to make the chunk's code larger.
        nops: usize,
    }

    fn chunk_of(slot: i32, shape: Shape) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        if shape.before_wasm_opt.is_some() {
            types.ty().function([ValType::I64, ValType::I64], []);
        }
        let mut imports = ImportSection::new();
        let table =
            TableType { element_type: RefType::FUNCREF, minimum: 1, maximum: None, table64: false, shared: false };
        imports.import(SHARED_MODULE, "__indirect_function_table", EntityType::Table(table));
        let memory = MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None };
        imports.import(SHARED_MODULE, "memory", EntityType::Memory(memory));
        let global = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
        imports.import(SHARED_MODULE, "__wasm_split_shared0", EntityType::Global(global));
        let mut functions = FunctionSection::new();
        functions.function(0);
        functions.function(0);
        let mut elements = ElementSection::new();
        elements.active(Some(0), &ConstExpr::i32_const(slot), Elements::Functions([0, 1].as_slice().into()));
        let mut code = CodeSection::new();
        let mut first = Function::new([]);
        for _ in 0..shape.nops {
            first.instruction(&Instruction::Nop);
        }
        first
            .instruction(&Instruction::ElemDrop(0))
            .instruction(&Instruction::GlobalGet(0))
            .instruction(&Instruction::End);
        code.function(&first);
        let mut second = Function::new([]);
        second.instruction(&Instruction::Call(0)).instruction(&Instruction::End);
        code.function(&second);
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&functions);
        if shape.export || shape.before_wasm_opt.is_some() {
            let mut exports = ExportSection::new();
            if shape.export {
                exports.export("first", ExportKind::Func, 0);
            }
            module.section(&exports);
        }
        module.section(&elements);
        let Some(data) = shape.before_wasm_opt else {
            module.section(&code);
            return module.finish();
        };
        module.section(&wasm_encoder::DataCountSection { count: 1 }).section(&code);
        let mut segments = wasm_encoder::DataSection::new();
        segments.active(0, &ConstExpr::i32_const(1024), data.iter().copied());
        module.section(&segments);
        module.section(&wasm_encoder::CustomSection { name: "producers".into(), data: [0u8; 40].as_slice().into() });
        module.finish()
    }

    /// An active element segment: its offset in the table and its functions.
    type Segment = (i32, Vec<u32>);

    /// The merged module's imports, functions' calls (and `elem.drop`s, as `1000 + segment`) and
    /// element segments.
    fn read(module: &[u8]) -> (usize, Vec<u32>, Vec<Segment>) {
        let (mut imports, mut calls, mut segments) = (0, Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(module) {
            match payload.unwrap() {
                Payload::ImportSection(section) => imports = section.into_imports().count(),
                Payload::CodeSectionEntry(body) => {
                    for op in body.get_operators_reader().unwrap() {
                        match op.unwrap() {
                            wasmparser::Operator::Call { function_index } => calls.push(function_index),
                            wasmparser::Operator::ElemDrop { elem_index } => calls.push(1000 + elem_index),
                            _ => {}
                        }
                    }
                }
                Payload::ElementSection(section) => {
                    for element in section {
                        let element = element.unwrap();
                        let wasmparser::ElementKind::Active { offset_expr, .. } = element.kind else {
                            panic!("passive")
                        };
                        let Ok(wasmparser::Operator::I32Const { value }) = offset_expr.get_operators_reader().read()
                        else {
                            panic!("offset")
                        };
                        let wasmparser::ElementItems::Functions(items) = element.items else { panic!("items") };
                        segments.push((value, items.into_iter().map(Result::unwrap).collect()));
                    }
                }
                _ => {}
            }
        }
        (imports, calls, segments)
    }

    #[test]
    fn chunks_merge_with_their_calls_and_table_slots_renumbered() {
        let chunks = vec![("chunk_1".to_owned(), chunk(10, false)), ("chunk_2".to_owned(), chunk(20, false))];
        let (module, merged) = merge_modules(&chunks).expect("merges and validates");
        assert_eq!(merged, ["chunk_1", "chunk_2"]);
        let (imports, calls, segments) = read(&module);
        assert_eq!(imports, 3, "the shared imports once each");
        assert_eq!(calls, [1000, 0, 1001, 2], "each chunk still calls its own function and drops its own segment");
        assert_eq!(segments, [(10, vec![0, 1]), (20, vec![2, 3])], "the same table slots, the new function numbers");
    }

    #[test]
    fn a_chunk_of_another_shape_is_left_alone() {
        let chunks = vec![
            ("chunk_1".to_owned(), chunk(10, false)),
            ("chunk_2".to_owned(), chunk(20, true)),
            ("chunk_3".to_owned(), b"\0asm\x01\0\0\0".to_vec()),
        ];
        assert!(matches!(mergeable(&chunks[1].1), Err(Unmergeable::Section(_))));
        let (_, merged) = merge_modules(&chunks).unwrap();
        assert_eq!(
            merged,
            ["chunk_1", "chunk_3"],
            "the chunk that exports stays a file of its own; an empty one merges"
        );
    }

    #[test]
    fn a_chunk_before_wasm_opt_merges_and_its_placeholders_are_dropped() {
        let before = chunk_of(20, Shape { before_wasm_opt: Some(b""), ..Shape::default() });
        assert!(mergeable(&before).is_ok());
        let chunks = vec![("chunk_1".to_owned(), chunk(10, false)), ("chunk_2".to_owned(), before)];
        let (module, merged) = merge_modules(&chunks).expect("merges and validates");
        assert_eq!(merged, ["chunk_1", "chunk_2"]);
        let (_, calls, segments) = read(&module);
        assert_eq!(calls, [1000, 0, 1001, 2]);
        assert_eq!(segments, [(10, vec![0, 1]), (20, vec![2, 3])]);
        for payload in Parser::new(0).parse_all(&module) {
            let payload = payload.unwrap();
            assert!(
                !matches!(
                    payload,
                    Payload::DataSection(_)
                        | Payload::DataCountSection { .. }
                        | Payload::ExportSection(_)
                        | Payload::CustomSection(_)
                ),
                "{payload:?} is not carried into the merged module"
            );
        }
    }

    #[test]
    fn a_chunk_with_data_in_a_segment_stays_a_file_of_its_own() {
        let with_data = chunk_of(20, Shape { before_wasm_opt: Some(b"text"), ..Shape::default() });
        assert!(matches!(mergeable(&with_data), Err(Unmergeable::Data)));
        let chunks = vec![("chunk_1".to_owned(), chunk(10, false)), ("chunk_2".to_owned(), with_data)];
        assert_eq!(merge_modules(&chunks).unwrap().1, ["chunk_1"]);
    }

    #[test]
    fn chunks_that_import_a_name_differently_are_refused() {
        let other = chunk(20, false);
        // The same global imported immutable: a different type under the same name.
        let position = other.windows(2).rposition(|w| w == [0x7f, 0x01]).expect("the mutable i32 global import");
        let mut other = other;
        other[position + 1] = 0x00;
        let chunks = vec![("chunk_1".to_owned(), chunk(10, false)), ("chunk_2".to_owned(), other)];
        let error = merge_modules(&chunks).unwrap_err();
        let MergeFailed::Chunk { name, problem: BadChunk::ImportClash { name: import, .. } } = &error else {
            panic!("{error:?}")
        };
        assert_eq!((name.as_str(), import.as_str()), ("chunk_2", "__wasm_split_shared0"));
        // What the build's log says, the chunk first.
        assert!(error.to_string().starts_with("chunk_2: __wasm_split_shared0 is imported as"), "{error}");
    }

    const SPLIT: &str = "export const __wasm_split_load_page = wrapAsyncCb(makeLoad(() => {\n    const src = fetch(new URL(\"./split_page.wasm\", import.meta.url));\n    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));\n}\n, [__chunk_1, __chunk_2, __chunk_3]));\n";

    fn loader() -> String {
        format!(
            "function makeLoad() {{}}\n{}{}{}{SPLIT}",
            chunk_loader("chunk_1"),
            chunk_loader("chunk_2"),
            chunk_loader("chunk_3")
        )
    }

    #[test]
    fn the_loader_fetches_the_merged_module_for_the_merged_chunks_only() {
        let js = rewrite_loader(&loader(), &["chunk_1".to_owned(), "chunk_3".to_owned()]).unwrap();
        assert_eq!(js.matches("./chunks_merged.wasm").count(), 1);
        assert!(!js.contains("./chunk_1.wasm") && !js.contains("./chunk_3.wasm"));
        assert!(js.contains("./chunk_2.wasm"), "a chunk not merged keeps its own loader");
        assert!(js.contains("const __chunk_1 = __chunks_merged;") && js.contains("const __chunk_3 = __chunks_merged;"));
        assert!(
            js.find("const __chunks_merged").unwrap() < js.find("const __chunk_1 =").unwrap(),
            "defined before use"
        );
    }

    #[test]
    fn a_loader_written_otherwise_is_refused() {
        let changed = loader().replace("instantiateStreaming(src, imports)", "instantiate(src, imports)");
        let refused = rewrite_loader(&changed, &["chunk_1".to_owned()]);
        assert!(matches!(&refused, Err(LoaderUnexpected::Missing(name)) if name == "chunk_1"), "{refused:?}");
    }

    #[test]
    fn the_manifest_names_the_merged_module_once_where_the_first_merged_chunk_was() {
        let manifest =
            serde_json::json!({ "page": ["chunk_4", "chunk_1", "chunk_2", "chunk_3"], "other": ["chunk_2"] });
        let merged = ["chunk_1".to_owned(), "chunk_3".to_owned()];
        let out = rewrite_manifest(&manifest, &merged).unwrap();
        assert_eq!(out, serde_json::json!({ "page": ["chunk_4", "chunks_merged", "chunk_2"], "other": ["chunk_2"] }));
    }

    /// A new folder holding `loader()` and a manifest of one page that loads chunks 1 to 3.
    fn folder(label: &str) -> PathBuf {
        let pkg = std::env::temp_dir().join(format!("chunk-merge-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&pkg);
        fs::create_dir_all(&pkg).unwrap();
        fs::write(pkg.join("__wasm_split.______________________.js"), loader()).unwrap();
        fs::write(pkg.join("__wasm_split_manifest.json"), r#"{"page": ["chunk_1", "chunk_2", "chunk_3"]}"#).unwrap();
        pkg
    }

    #[test]
    fn a_folder_is_merged_once_and_a_large_chunk_stays() {
        let pkg = folder("test");
        fs::write(pkg.join("chunk_1.wasm"), chunk(10, false)).unwrap();
        fs::write(pkg.join("chunk_2.wasm"), chunk(20, false)).unwrap();
        // chunk_3 as wasm-split writes it: its unused type, data count, empty segment and custom
        // section make the file larger, but its code is what counts.
        fs::write(pkg.join("chunk_3.wasm"), chunk_of(30, Shape { before_wasm_opt: Some(b""), ..Shape::default() }))
            .unwrap();
        let under = code_bytes(&chunk(10, false)).unwrap() + 1;
        assert!(fs::metadata(pkg.join("chunk_3.wasm")).unwrap().len() > under as u64 + 40);
        // chunk_2's code made larger than the limit.
        fs::write(pkg.join("chunk_2.wasm"), chunk_of(20, Shape { nops: 1, ..Shape::default() })).unwrap();

        let outcome = run(&pkg, under).unwrap();
        let Outcome::Merged { chunks, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(chunks, ["chunk_1", "chunk_3"]);
        assert!(pkg.join("chunks_merged.wasm").exists() && pkg.join("chunk_2.wasm").exists());
        assert!(!pkg.join("chunk_1.wasm").exists() && !pkg.join("chunk_3.wasm").exists());
        let manifest = read_json(&pkg.join("__wasm_split_manifest.json")).unwrap();
        assert_eq!(manifest, serde_json::json!({ "page": ["chunks_merged", "chunk_2"] }));
        assert_eq!(run(&pkg, under).unwrap(), Outcome::AlreadyMerged);
        fs::remove_dir_all(&pkg).unwrap();
    }

    #[test]
    fn a_chunk_wasm_opt_shrank_is_merged_into_the_merged_module_after() {
        let pkg = folder("top-up");
        fs::write(pkg.join("chunk_1.wasm"), chunk(10, false)).unwrap();
        fs::write(pkg.join("chunk_2.wasm"), chunk_of(20, Shape { nops: 50, ..Shape::default() })).unwrap();
        fs::write(pkg.join("chunk_3.wasm"), chunk(30, false)).unwrap();
        assert_eq!(top_up(&pkg, 4096).unwrap(), Outcome::Nothing, "nothing merged yet: run's to do");
        let under = code_bytes(&chunk(10, false)).unwrap() + 1;
        let Outcome::Merged { chunks, .. } = run(&pkg, under).unwrap() else { panic!("not merged") };
        assert_eq!(chunks, ["chunk_1", "chunk_3"]);
        // wasm-opt made chunk_2 small: the top-up takes it.
        fs::write(pkg.join("chunk_2.wasm"), chunk(20, false)).unwrap();
        let Outcome::Merged { chunks, .. } = top_up(&pkg, 1024).unwrap() else { panic!("not topped up") };
        assert_eq!(chunks, ["chunk_2"]);
        assert!(!pkg.join("chunk_2.wasm").exists());
        let (_, calls, segments) = read(&fs::read(pkg.join("chunks_merged.wasm")).unwrap());
        assert_eq!(segments, [(10, vec![0, 1]), (30, vec![2, 3]), (20, vec![4, 5])], "every chunk's table slots kept");
        assert_eq!(calls, [1000, 0, 1001, 2, 1002, 4]);
        let js = fs::read_to_string(pkg.join("__wasm_split.______________________.js")).unwrap();
        assert_eq!(js.matches("./chunks_merged.wasm").count(), 1);
        assert!(!js.contains("./chunk_2.wasm") && js.contains("const __chunk_2 = __chunks_merged;"));
        let manifest = read_json(&pkg.join("__wasm_split_manifest.json")).unwrap();
        assert_eq!(manifest, serde_json::json!({ "page": ["chunks_merged"] }), "named once");
        assert_eq!(top_up(&pkg, 1024).unwrap(), Outcome::Nothing);
        fs::remove_dir_all(&pkg).unwrap();
    }

    #[test]
    fn a_topped_up_chunk_above_the_merged_loader_moves_it_up() {
        let merged = rewrite_loader(&loader(), &["chunk_2".to_owned(), "chunk_3".to_owned()]).unwrap();
        assert!(merged.find("const __chunks_merged").unwrap() > merged.find("const __chunk_1 =").unwrap());
        let js = top_up_loader(&merged, &["chunk_1".to_owned()]).unwrap();
        assert_eq!(js.matches("const __chunks_merged = makeLoad").count(), 1);
        assert!(js.find("const __chunks_merged").unwrap() < js.find("const __chunk_1 = __chunks_merged;").unwrap());
        assert!(!js.contains("./chunk_1.wasm"));
    }

    #[test]
    fn a_chunk_file_the_loader_does_not_load_is_left_where_it_is() {
        let pkg = folder("stale");
        for (n, slot) in [(1, 10), (2, 20), (3, 30), (9, 90)] {
            fs::write(pkg.join(format!("chunk_{n}.wasm")), chunk(slot, false)).unwrap();
        }
        fs::write(pkg.join("chunks_merged.merging"), b"half").unwrap();
        let Outcome::Merged { chunks, .. } = run(&pkg, 4096).unwrap() else { panic!("not merged") };
        assert_eq!(chunks, ["chunk_1", "chunk_2", "chunk_3"], "chunk_9, from an earlier build, is not in the loader");
        assert!(pkg.join("chunk_9.wasm").exists());
        assert!(!pkg.join("chunks_merged.merging").exists(), "a stopped run's leftovers go");
        fs::remove_dir_all(&pkg).unwrap();
    }
}
