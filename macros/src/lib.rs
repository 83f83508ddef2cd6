//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on corio.
//! Re-exported by `corio` (feature `macros`, on by default); use them as
//! `#[corio::main]` and `#[corio::test]`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Run the `async fn` it decorates on corio: the function becomes a plain
/// `fn` that runs its body with `corio::block_on` and returns what the body
/// returns. Any argument-less `async fn` may carry it, not only `main`.
///
/// - `#[corio::main(entries = 1024)]`: a runtime with that many submission
///   entries.
/// - `#[corio::main(cores = 4)]`: the body runs on every core of a
///   `corio::Pool` of 4 cores (and must return `()`).
///
/// ```ignore
/// #[corio::main]
/// async fn main() -> std::io::Result<()> {
///     let file = corio::fs::File::open("Cargo.toml").await?;
///     file.close().await
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Main)
}

/// As [`main`](macro@main), for a test: the `async fn` becomes a `#[test]`
/// run on its own corio runtime. Takes `entries = N`.
///
/// ```ignore
/// #[corio::test]
/// async fn reads_a_file() {
///     let file = corio::fs::File::open("Cargo.toml").await.unwrap();
///     file.close().await.unwrap();
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Test)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[corio::main]",
            Kind::Test => "#[corio::test]",
        }
    }
}

struct Args {
    entries: Option<Expr>,
    cores: Option<Expr>,
}

fn parse_args(args: TokenStream, kind: Kind) -> syn::Result<Args> {
    let parsed = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(args)?;
    let mut out = Args {
        entries: None,
        cores: None,
    };
    for arg in parsed {
        let name = arg
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let value = arg.value;
        if !matches!(
            value,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        ) {
            return Err(syn::Error::new(
                value.span(),
                format!(
                    "{}: `{name}` takes an integer, e.g. `{name} = 4`",
                    kind.name()
                ),
            ));
        }
        match name.as_str() {
            "entries" => out.entries = Some(value),
            "cores" if kind == Kind::Main => out.cores = Some(value),
            "cores" => {
                return Err(syn::Error::new(
                    arg.path.span(),
                    "#[corio::test] takes `entries = N` only (run a Pool inside the test for \
                     several cores)",
                ))
            }
            _ => {
                return Err(syn::Error::new(
                    arg.path.span(),
                    format!(
                        "{}: unknown argument `{name}`; expected `entries = N`{}",
                        kind.name(),
                        if kind == Kind::Main {
                            " or `cores = N`"
                        } else {
                            ""
                        }
                    ),
                ))
            }
        }
    }
    Ok(out)
}

fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let func: ItemFn = match syn::parse(item) {
        Ok(func) => func,
        Err(e) => return e.to_compile_error().into(),
    };
    let expanded = parse_args(args, kind).and_then(|args| expand_fn(args, &func, kind));
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            // The error, and a stand-in with the function's name, so the
            // error is the only one (no "main function not found").
            let error = e.to_compile_error();
            let (vis, name) = (&func.vis, &func.sig.ident);
            // A `main` stand-in returns `()`: its declared type may be what
            // the error is about.
            let output = (name != "main").then_some(&func.sig.output);
            quote! {
                #error
                #vis fn #name() #output { ::core::unimplemented!() }
            }
            .into()
        }
    }
}

fn expand_fn(args: Args, func: &ItemFn, kind: Kind) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "{} goes on an `async fn`: add `async` before `fn`",
                kind.name()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!(
                "{} takes an `async fn` without arguments: nothing would supply them",
                kind.name()
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("{}: the function cannot be generic", kind.name()),
        ));
    }
    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &sig.ident;
    let output = &sig.output;
    let body = &func.block;
    let span = Span::call_site();
    let run = match (&args.cores, &args.entries) {
        (Some(cores), entries) => {
            if !matches!(output, syn::ReturnType::Default) {
                return Err(syn::Error::new(
                    output.span(),
                    "#[corio::main(cores = N)] runs the body on every core: it must return `()`",
                ));
            }
            let entries = entries.as_ref().map(|e| quote!(.entries(#e)));
            quote_spanned! {span=>
                let pool = ::corio::Pool::builder()
                    .cores(#cores)
                    #entries
                    .build()
                    .unwrap_or_else(|e| panic!("corio: cannot start the pool: {e}"));
                pool.run(|_core| async #body);
            }
        }
        (None, Some(entries)) => quote_spanned! {span=>
            let runtime = ::corio::Builder::new()
                .entries(#entries)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            runtime.block_on(async #body)
        },
        (None, None) => quote_spanned! {span=>
            ::corio::block_on(async #body)
        },
    };
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis fn #name() #output {
            #run
        }
    })
}
