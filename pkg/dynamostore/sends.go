package dynamostore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// A send is counted twice, each count an atomic ADD guarded by its cap, so concurrent sends
// are counted exactly: per user on the user's state (w_<window end ms>, in the same write as
// the rest of what a send changes there), and per destination on an item of the destination's
// (DEST#<keyed hash>, SEND#<window start ms>), shared by every user who sends to it. A user's
// window is named by its end, so whether it ended is known whatever its length (SMS policies
// set their own).
const sendWindowAttr = "w_"

func userWindowAttr(q mfa.SendQuota) string {
	return fmt.Sprintf("%s%013d", sendWindowAttr, q.At.Truncate(q.Window).Add(q.Window).UnixMilli())
}

// userSendCount adds the user's count of a send to a write of the state: what to ADD, its
// condition, and what to REMOVE (the windows that ended).
func userSendCount(q mfa.SendQuota, names map[string]string, values map[string]dynamoclient.AttributeValue) (add, cond string, remove []string) {
	names["#w"] = userWindowAttr(q)
	values[":one"], values[":maxUser"] = num(1), num(int64(q.MaxPerUser))
	for i, end := range q.Windows {
		if !end.After(q.At) {
			n := fmt.Sprintf("#ow%d", i)
			names[n] = fmt.Sprintf("%s%013d", sendWindowAttr, end.UnixMilli())
			remove = append(remove, n)
		}
	}
	return "#w :one", "(attribute_not_exists(#w) OR #w < :maxUser)", remove
}

// userSendsIn reads, from a state item, the user's count in the window of q.
func userSendsIn(q mfa.SendQuota, state map[string]dynamoclient.AttributeValue) int {
	n, _ := state[userWindowAttr(q)].(*dynamoclient.AttributeValueMemberN)
	if n == nil {
		return 0
	}
	count, _ := strconv.Atoi(n.Value)
	return count
}

// destCounter is the destination's count of a send, and when its window ends.
func (s *Store) destCounter(q mfa.SendQuota) (dynamoclient.TransactWriteItem, time.Time) {
	window := q.At.Truncate(q.Window)
	ends := window.Add(q.Window)
	return dynamoclient.TransactWriteItem{Update: &dynamoclient.Update{
		TableName: &s.table, Key: key(destPrefix+q.DestinationKey, fmt.Sprintf("%s%013d", sendPrefix, window.UnixMilli())),
		UpdateExpression:          aws.String("SET #ttl = :ttl ADD sent :one"),
		ConditionExpression:       aws.String("attribute_not_exists(sent) OR sent < :max"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]dynamoclient.AttributeValue{":ttl": num(ends.Add(ttlGraceOnGone).Unix()), ":one": num(1), ":max": num(int64(q.MaxPerDest))},
	}}, ends
}
