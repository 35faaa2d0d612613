//! `#[access(Role)]`: who may call a server function, said where the function is defined.
//!
//! ```text
//! #[access(Operator)]
//! #[server(endpoint = "environments/save", output = JsonResponse)]
//! pub async fn save_environment(id: Option<String>, form: EnvironmentForm) -> Result<EnvironmentView, AppError> {
//!     …
//! }
//! ```
//!
//! The attribute does two things with the one declaration:
//! - it registers the endpoint, its method and its rule (`app::api::access::Endpoint`), from
//!   which the server's access table is built: a request over HTTP is refused before the
//!   function runs;
//! - it runs the body through `app::api::access::serve`, which checks the rule again from the
//!   request's context, so that a call made while a page renders on the server (which does not
//!   pass the server's layers) is guarded too, and which logs the failures that are not the
//!   caller's.
//!
//! The argument is a `Role` variant (`Viewer`, `Operator`, `Approver`, `Admin`) or `Public`
//! (anyone, signed in or not). It must stand above `#[server(...)]`, whose `endpoint` names the
//! path and whose `input` (a `Get…` codec or not) the method.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Expr, Ident, ItemFn, LitStr, parse_macro_input, spanned::Spanned};

#[proc_macro_attribute]
pub fn access(args: TokenStream, item: TokenStream) -> TokenStream {
    let role = parse_macro_input!(args as Ident);
    let mut function = parse_macro_input!(item as ItemFn);
    match expand(&role, &mut function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(role: &Ident, function: &mut ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let Some(server) = function.attrs.iter().find(|a| a.path().is_ident("server")) else {
        return Err(syn::Error::new(
            function.sig.span(),
            "#[access(…)] belongs right above the #[server(…)] of a server function",
        ));
    };
    let mut endpoint = None;
    let mut read = false;
    server.parse_nested_meta(|meta| {
        if meta.path.is_ident("endpoint") {
            endpoint = Some(meta.value()?.parse::<LitStr>()?.value());
        } else if meta.path.is_ident("input") {
            let codec: syn::Path = meta.value()?.parse()?;
            read = codec.segments.last().is_some_and(|s| s.ident.to_string().starts_with("Get"));
        } else if meta.input.peek(syn::Token![=]) {
            meta.value()?.parse::<Expr>()?;
        }
        Ok(())
    })?;
    let Some(endpoint) = endpoint else {
        return Err(syn::Error::new(server.span(), "#[access(…)] needs the server function's `endpoint = \"…\"`"));
    };
    let rule = if role == "Public" {
        quote!(crate::api::access::Rule::Public)
    } else {
        quote!(crate::api::access::Rule::Needs(crate::auth::Role::#role))
    };
    let block = &function.block;
    *function.block = syn::parse_quote!({
        crate::api::access::serve(#rule, async move #block).await
    });
    let path = format!("/api/{endpoint}");
    Ok(quote! {
        #function

        #[cfg(feature = "ssr")]
        ::inventory::submit! {
            crate::api::access::Endpoint { path: #path, read: #read, rule: #rule }
        }
    })
}
