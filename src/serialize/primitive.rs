//! Fast, allocation-free writers for the JSON form of each primitive OData value.
