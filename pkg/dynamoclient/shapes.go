package dynamoclient

// The inputs and outputs of the operations the service makes, with the members it uses, named
// and typed as the SDK's (a nil member is not sent, as the SDK leaves it out).

// ReturnValue is what an UpdateItem or PutItem answers of the item.
type ReturnValue string

// The ReturnValue settings.
const (
	ReturnValueNone       ReturnValue = "NONE"
	ReturnValueAllOld     ReturnValue = "ALL_OLD"
	ReturnValueUpdatedOld ReturnValue = "UPDATED_OLD"
	ReturnValueAllNew     ReturnValue = "ALL_NEW"
	ReturnValueUpdatedNew ReturnValue = "UPDATED_NEW"
)

// ReturnValuesOnConditionCheckFailure is what a failed condition answers of the item.
type ReturnValuesOnConditionCheckFailure string

// The ReturnValuesOnConditionCheckFailure settings.
const (
	ReturnValuesOnConditionCheckFailureAllOld ReturnValuesOnConditionCheckFailure = "ALL_OLD"
	ReturnValuesOnConditionCheckFailureNone   ReturnValuesOnConditionCheckFailure = "NONE"
)

// ReturnConsumedCapacity asks for the capacity a call consumed.
type ReturnConsumedCapacity string

// The ReturnConsumedCapacity settings.
const (
	ReturnConsumedCapacityIndexes ReturnConsumedCapacity = "INDEXES"
	ReturnConsumedCapacityTotal   ReturnConsumedCapacity = "TOTAL"
	ReturnConsumedCapacityNone    ReturnConsumedCapacity = "NONE"
)

// Select is what a Query answers of the items it finds.
type Select string

// The Select settings.
const (
	SelectAllAttributes          Select = "ALL_ATTRIBUTES"
	SelectAllProjectedAttributes Select = "ALL_PROJECTED_ATTRIBUTES"
	SelectSpecificAttributes     Select = "SPECIFIC_ATTRIBUTES"
	SelectCount                  Select = "COUNT"
)

// Capacity is capacity consumed on a table or an index.
type Capacity struct {
	CapacityUnits      *float64
	ReadCapacityUnits  *float64
	WriteCapacityUnits *float64
}

// ConsumedCapacity is the capacity a call consumed on one table (answered when the call asked
// for it).
type ConsumedCapacity struct {
	TableName              *string
	CapacityUnits          *float64
	ReadCapacityUnits      *float64
	WriteCapacityUnits     *float64
	Table                  *Capacity
	GlobalSecondaryIndexes map[string]Capacity
	LocalSecondaryIndexes  map[string]Capacity
}

// GetItemInput reads one item.
type GetItemInput struct {
	TableName                *string
	Key                      map[string]AttributeValue
	ConsistentRead           *bool
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
	ReturnConsumedCapacity   ReturnConsumedCapacity
}

// GetItemOutput is the item, if there is one.
type GetItemOutput struct {
	Item             map[string]AttributeValue
	ConsumedCapacity *ConsumedCapacity
}

// PutItemInput writes one item.
type PutItemInput struct {
	TableName                           *string
	Item                                map[string]AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValues                        ReturnValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
	ReturnConsumedCapacity              ReturnConsumedCapacity
}

// PutItemOutput is the item before the write, if asked for.
type PutItemOutput struct {
	Attributes       map[string]AttributeValue
	ConsumedCapacity *ConsumedCapacity
}

// UpdateItemInput changes one item.
type UpdateItemInput struct {
	TableName                           *string
	Key                                 map[string]AttributeValue
	UpdateExpression                    *string
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValues                        ReturnValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
	ReturnConsumedCapacity              ReturnConsumedCapacity
}

// UpdateItemOutput is the item (or its changed attributes) as ReturnValues asked.
type UpdateItemOutput struct {
	Attributes       map[string]AttributeValue
	ConsumedCapacity *ConsumedCapacity
}

// DeleteItemInput removes one item.
type DeleteItemInput struct {
	TableName                           *string
	Key                                 map[string]AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValues                        ReturnValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
	ReturnConsumedCapacity              ReturnConsumedCapacity
}

// DeleteItemOutput is the item removed, if asked for.
type DeleteItemOutput struct {
	Attributes       map[string]AttributeValue
	ConsumedCapacity *ConsumedCapacity
}

// QueryInput reads the items of one partition (of the table or an index).
type QueryInput struct {
	TableName                 *string
	IndexName                 *string
	KeyConditionExpression    *string
	FilterExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]AttributeValue
	ConsistentRead            *bool
	ScanIndexForward          *bool
	Limit                     *int32
	ExclusiveStartKey         map[string]AttributeValue
	Select                    Select
	ReturnConsumedCapacity    ReturnConsumedCapacity
}

// QueryOutput is a page of items; LastEvaluatedKey starts the next page.
type QueryOutput struct {
	Items            []map[string]AttributeValue
	Count            int32
	ScannedCount     int32
	LastEvaluatedKey map[string]AttributeValue
	ConsumedCapacity *ConsumedCapacity
}

// KeysAndAttributes are the keys a BatchGetItem reads of one table.
type KeysAndAttributes struct {
	Keys                     []map[string]AttributeValue
	ConsistentRead           *bool
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
}

// BatchGetItemInput reads items by key, per table.
type BatchGetItemInput struct {
	RequestItems           map[string]KeysAndAttributes
	ReturnConsumedCapacity ReturnConsumedCapacity
}

// BatchGetItemOutput is the items found, per table, and the keys left to read.
type BatchGetItemOutput struct {
	Responses        map[string][]map[string]AttributeValue
	UnprocessedKeys  map[string]KeysAndAttributes
	ConsumedCapacity []ConsumedCapacity
}

// PutRequest writes one item in a BatchWriteItem.
type PutRequest struct {
	Item map[string]AttributeValue
}

// DeleteRequest removes one item in a BatchWriteItem.
type DeleteRequest struct {
	Key map[string]AttributeValue
}

// WriteRequest is one write of a BatchWriteItem: a put or a delete.
type WriteRequest struct {
	PutRequest    *PutRequest
	DeleteRequest *DeleteRequest
}

// BatchWriteItemInput writes items, per table.
type BatchWriteItemInput struct {
	RequestItems           map[string][]WriteRequest
	ReturnConsumedCapacity ReturnConsumedCapacity
}

// BatchWriteItemOutput is the writes left to make, per table.
type BatchWriteItemOutput struct {
	UnprocessedItems map[string][]WriteRequest
	ConsumedCapacity []ConsumedCapacity
}

// ConditionCheck is a condition on an item in a transaction.
type ConditionCheck struct {
	TableName                           *string
	Key                                 map[string]AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
}

// Put writes an item in a transaction.
type Put struct {
	TableName                           *string
	Item                                map[string]AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
}

// Update changes an item in a transaction.
type Update struct {
	TableName                           *string
	Key                                 map[string]AttributeValue
	UpdateExpression                    *string
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
}

// Delete removes an item in a transaction.
type Delete struct {
	TableName                           *string
	Key                                 map[string]AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValuesOnConditionCheckFailure ReturnValuesOnConditionCheckFailure
}

// TransactWriteItem is one action of a transaction: exactly one of its members.
type TransactWriteItem struct {
	ConditionCheck *ConditionCheck
	Put            *Put
	Update         *Update
	Delete         *Delete
}

// TransactWriteItemsInput writes items all or none. ClientRequestToken makes a retried
// transaction idempotent; when nil, the client makes one per call, as the SDK's does.
type TransactWriteItemsInput struct {
	TransactItems          []TransactWriteItem
	ClientRequestToken     *string
	ReturnConsumedCapacity ReturnConsumedCapacity
}

// TransactWriteItemsOutput is the capacity consumed, if asked for.
type TransactWriteItemsOutput struct {
	ConsumedCapacity []ConsumedCapacity
}
