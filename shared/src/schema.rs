//! Named JSON schemas for the OpenAPI document, collected as the route table is walked.

use utoipa::openapi::{RefOr, Schema};

/// The named schemas collected so far.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// Collects named schemas and answers a reference to the one asked for.
pub type SchemaFn = fn(&mut Schemas) -> RefOr<Schema>;

/// A [`SchemaFn`] for any `ToSchema` type.
pub fn schema<T: utoipa::ToSchema>(out: &mut Schemas) -> RefOr<Schema> {
    let name = T::name().to_string();
    match out.iter().find(|(n, _)| *n == name) {
        None => {
            out.push((name.clone(), T::schema()));
            T::schemas(out);
        }
        // A name is one schema: two types under one name would read as each other.
        Some((_, known)) => {
            let (a, b) = (
                serde_json::to_string(known).unwrap_or_default(),
                serde_json::to_string(&T::schema()).unwrap_or_default(),
            );
            assert_eq!(
                a,
                b,
                "two different types are both named {name} in the OpenAPI document ({}): rename one",
                std::any::type_name::<T>()
            );
        }
    }
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// The schema of a page of `T` (`{items, nextCursor}`), named after `T` (`PostViewPage`), so every
/// list says what it lists.
pub fn page<T: utoipa::ToSchema>(out: &mut Schemas) -> RefOr<Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let item = schema::<T>(out);
    let name = format!("{}Page", T::name());
    if !out.iter().any(|(n, _)| *n == name) {
        let object =
            ObjectBuilder::new().property("items", ArrayBuilder::new().items(item)).required("items").property(
                "nextCursor",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Pass as `cursor` to get the next page; absent or null on the last page.")),
            );
        out.push((name.clone(), RefOr::T(Schema::Object(object.build()))));
    }
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// A body type with a schema: every `ToSchema` type, and pages of them.
pub trait Documented {
    fn schema(out: &mut Schemas) -> RefOr<Schema>;
}

impl<T: utoipa::ToSchema> Documented for T {
    fn schema(out: &mut Schemas) -> RefOr<Schema> {
        schema::<T>(out)
    }
}
