//! The table definition, in one place: the local stack creates the table from it and the
//! template generator writes the CloudFormation resource from it.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// The entity-type attribute every item carries.
pub const ENTITY_TYPE: &str = "entityType";
/// Epoch seconds after which DynamoDB may delete the item (it may lag: reads filter too).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// The table's stream carries new images: the outbox relay reads the messages committed with
/// the facts that caused them (see [`crate::outbox`]).
pub const STREAM_VIEW_TYPE: &str = "NEW_IMAGE";

/// The overloaded global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gsi {
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Gsi {
    pub const ALL: [Gsi; 3] = [Gsi::Gsi1, Gsi::Gsi2, Gsi::Gsi3];

    pub fn name(self) -> &'static str {
        match self {
            Gsi::Gsi1 => "GSI1",
            Gsi::Gsi2 => "GSI2",
            Gsi::Gsi3 => "GSI3",
        }
    }
    pub fn pk(self) -> &'static str {
        match self {
            Gsi::Gsi1 => "GSI1PK",
            Gsi::Gsi2 => "GSI2PK",
            Gsi::Gsi3 => "GSI3PK",
        }
    }
    pub fn sk(self) -> &'static str {
        match self {
            Gsi::Gsi1 => "GSI1SK",
            Gsi::Gsi2 => "GSI2SK",
            Gsi::Gsi3 => "GSI3SK",
        }
    }
}

/// Every key attribute (all strings).
pub fn key_attributes() -> Vec<&'static str> {
    let mut v = vec![PK, SK];
    for g in Gsi::ALL {
        v.push(g.pk());
        v.push(g.sk());
    }
    v
}

/// The `CreateTable` call for `name` (used by the local stack).
pub fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(STREAM_VIEW_TYPE))
                .build()
                .expect("stream specification has every required field"),
        );
    for a in key_attributes() {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition has every required field"),
        );
    }
    for g in Gsi::ALL {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g.name())
                .key_schema(key(g.pk(), KeyType::Hash))
                .key_schema(key(g.sk(), KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index has every required field"),
        );
    }
    req
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key has every required field")
}

/// The CloudFormation `Properties` of the table (used by the template generator).
pub fn cloudformation_properties() -> serde_json::Value {
    use serde_json::json;
    json!({
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": key_attributes().iter().map(|a| json!({"AttributeName": a, "AttributeType": "S"})).collect::<Vec<_>>(),
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"}
        ],
        "GlobalSecondaryIndexes": Gsi::ALL.iter().map(|g| json!({
            "IndexName": g.name(),
            "KeySchema": [
                {"AttributeName": g.pk(), "KeyType": "HASH"},
                {"AttributeName": g.sk(), "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "ALL"}
        })).collect::<Vec<_>>(),
        "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": true},
        "StreamSpecification": {"StreamViewType": STREAM_VIEW_TYPE},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
        "DeletionProtectionEnabled": true,
        "SSESpecification": {"SSEEnabled": true}
    })
}
