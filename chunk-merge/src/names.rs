//! What a page's WASM code is made of, by the names of its functions (`bundle-names`).
//!
//! The release bundle's chunks lose their names when wasm-opt runs; the modules it is given still
//! have them (a `name` section, Rust's mangled symbols). `scripts/bench names` keeps those inputs
//! (`SWITCHBOARD_WASM_OPT_KEEP` in `scripts/tools/bin/wasm-opt`) and this module sums their code by
//! the crate a function's name starts with and by the last module of the app it names. Sizes are
//! before wasm-opt and gzip: only the shares compare with what a browser downloads.

use std::collections::HashMap;

use wasmparser::{BinaryReaderError, KnownCustom, Name, Parser, Payload, TypeRef};

/// A function a module defines: its demangled name (or `?` when the module has none for it) and
/// the size of its body in bytes.
#[derive(Debug, PartialEq)]
pub struct Function {
    pub name: String,
    pub bytes: usize,
}

/// The functions `wasm` defines, in their order, named from its `name` section.
pub fn functions(wasm: &[u8]) -> Result<Vec<Function>, BinaryReaderError> {
    let mut imported = 0u32;
    let mut bodies = Vec::new();
    let mut names = HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    let import = import?;
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len()),
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(reader) = section.as_known() {
                    for subsection in reader {
                        if let Name::Function(map) = subsection? {
                            for naming in map {
                                let naming = naming?;
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(bodies
        .into_iter()
        .zip(imported..)
        .map(|(bytes, index)| {
            let name = names.remove(&index).map_or_else(|| "?".to_owned(), |n| demangle(&n));
            Function { name, bytes }
        })
        .collect())
}

/// A Rust symbol as source spells it, without its hash; anything else unchanged.
fn demangle(symbol: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(symbol))
}

/// The crate a function's name starts with (`reactive_graph` for
/// `<reactive_graph::…>::new::<app::…>`; the trait's for a blanket impl's, `<_ as tachys::…>`), or
/// the name's first word when it names none.
pub fn first_crate(name: &str) -> &str {
    let mut name = name;
    // Pointers, references, slices, tuples and trait objects wrap the type whose crate counts.
    loop {
        let trimmed = name.trim_start_matches(['<', '&', ' ', '[', '(']);
        let trimmed = ["_ as ", "dyn ", "mut ", "*const ", "*mut "]
            .iter()
            .find_map(|prefix| trimmed.strip_prefix(prefix))
            .unwrap_or(trimmed);
        if trimmed.len() == name.len() {
            break;
        }
        name = trimmed;
    }
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(name.len());
    if end == 0 { "?" } else { &name[..end] }
}

/// The last module of the app (`app::live::view`) a function's name mentions, at most two deep
/// under `app::`, or None for code that names nothing of the app (the frameworks' own).
pub fn app_module(name: &str) -> Option<String> {
    let mut found = None;
    let mut rest = name;
    while let Some(at) = rest.find("app::") {
        // `app::` starts a path only where no word or path (`x::app::`) runs into it.
        let starts_word = rest[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let path = &rest[at + "app::".len()..];
        rest = path;
        if !starts_word {
            continue;
        }
        let segments: Vec<&str> = path
            .split("::")
            .map(|s| s.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
            .take_while(|s| !s.is_empty())
            .collect();
        // Modules are lower case; a type, a function's closure or the end of the name stops the
        // path (its last segment, a function or a type, is not a module).
        let modules: Vec<&str> = segments
            .iter()
            .take(segments.len().saturating_sub(1))
            .take_while(|s| s.chars().next().is_some_and(|c| c.is_lowercase() || c == '_'))
            .take(2)
            .copied()
            .collect();
        found = Some(if modules.is_empty() { "app".to_owned() } else { format!("app::{}", modules.join("::")) });
    }
    found
}

/// Bytes of code per key, largest first, with the total.
pub fn sum_by<'a>(functions: &'a [Function], key: impl Fn(&'a Function) -> String) -> (Vec<(String, usize)>, usize) {
    let mut sums: HashMap<String, usize> = HashMap::new();
    for function in functions {
        *sums.entry(key(function)).or_default() += function.bytes;
    }
    let mut sums: Vec<_> = sums.into_iter().collect();
    sums.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (sums, functions.iter().map(|f| f.bytes).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, EntityType, Function as Body, FunctionSection, GlobalType, ImportSection, Instruction, MemoryType,
        Module, NameMap, NameSection, TypeSection, ValType,
    };

    /// A memory, a global and a function imported (only the function takes a function index),
    /// then two defined functions of different sizes, named with mangled symbols as rustc writes
    /// them.
    fn module() -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let mut imports = ImportSection::new();
        let memory = MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None };
        imports.import("__wasm_split", "memory", EntityType::Memory(memory));
        let global = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
        imports.import("__wasm_split", "__wasm_split_shared0", EntityType::Global(global));
        imports.import("wbg", "log", EntityType::Function(0));
        let mut functions = FunctionSection::new();
        functions.function(0);
        functions.function(0);
        let mut code = CodeSection::new();
        let mut small = Body::new([]);
        small.instruction(&Instruction::End);
        code.function(&small);
        let mut large = Body::new([]);
        for _ in 0..10 {
            large.instruction(&Instruction::Call(0));
        }
        large.instruction(&Instruction::End);
        code.function(&large);
        let mut names = NameMap::new();
        names.append(0, "log");
        names.append(1, "_RNvNtNtCsdkiS4mR8l75_3app5pages7account17___component_login");
        // Index 2 has no name.
        let mut section = NameSection::new();
        section.functions(&names);
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&functions).section(&code).section(&section);
        module.finish()
    }

    #[test]
    fn defined_functions_get_their_sizes_and_demangled_names() {
        let found = functions(&module()).unwrap();
        assert_eq!(
            found,
            vec![
                // A body is its size's own bytes excluded: locals count, then the instructions.
                Function { name: "app::pages::account::__component_login".into(), bytes: 2 },
                Function { name: "?".into(), bytes: 22 },
            ]
        );
    }

    #[test]
    fn a_name_is_put_under_its_first_crate_and_the_last_app_module_it_names() {
        let name = "<reactive_graph::computed::arc_memo::ArcMemo<core::option::Option<app::live::model::Row>>>::new::<app::live::view::timeline::{closure#0}>";
        assert_eq!(first_crate(name), "reactive_graph");
        assert_eq!(app_module(name).as_deref(), Some("app::live::view"));
        assert_eq!(app_module("app::pages::account::__component_login").as_deref(), Some("app::pages::account"));
        assert_eq!(app_module("app::__component_app").as_deref(), Some("app"));
        assert_eq!(app_module("app::live::view::timeline::rows::draw").as_deref(), Some("app::live::view"));
        assert_eq!(app_module("<alloc::sync::Arc<dyn core::any::Any>>::drop_slow"), None);
        // A crate whose name ends in "app" is not the app.
        assert_eq!(app_module("webapp::thing::run"), None);
        assert_eq!(app_module("tachys::app::thing::run"), None);
        assert_eq!(first_crate("<&mut serde_json::de::Deserializer<_>>::parse"), "serde_json");
        assert_eq!(first_crate("<dyn core::any::Any>::type_id"), "core");
        assert_eq!(first_crate("<_ as tachys::view::any_view::IntoAny>::into_any::build::<app::X>"), "tachys");
        assert_eq!(first_crate("<&mut dyn core::any::Any>::type_id"), "core");
        assert_eq!(first_crate("<*const alloc::string::String>::drop"), "alloc");
        assert_eq!(first_crate("<[serde_json::value::Value]>::to_vec"), "serde_json");
        assert_eq!(first_crate("<(alloc::string::String, u32) as core::clone::Clone>::clone"), "alloc");
    }

    #[test]
    fn sums_are_largest_first() {
        let functions = [
            Function { name: "a::x".into(), bytes: 5 },
            Function { name: "b::y".into(), bytes: 7 },
            Function { name: "a::z".into(), bytes: 4 },
        ];
        let (sums, total) = sum_by(&functions, |f| first_crate(&f.name).to_owned());
        assert_eq!(sums, vec![("a".to_owned(), 9), ("b".to_owned(), 7)]);
        assert_eq!(total, 16);
    }
}
